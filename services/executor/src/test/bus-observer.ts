import type { Bus, Subscription } from '@leash/bus';
import type { AnyEnvelope, EventType, TopicName } from '@leash/contracts';

/** Collects what reaches some topics, deduplicated by event id (delivery is at least once). */
export class BusObserver {
  readonly events = new Map<string, AnyEnvelope>();
  private subscription?: Subscription;

  async start(bus: Bus, topics: readonly TopicName[], group = 'test-observer'): Promise<void> {
    this.subscription = await bus.subscribe(
      group,
      topics,
      async (delivery) => {
        this.events.set(delivery.event.id, delivery.event);
      },
      { fromBeginning: true },
    );
  }

  of<T extends EventType>(type: T): Extract<AnyEnvelope, { type: T }>[] {
    return [...this.events.values()].filter((e) => e.type === type) as Extract<
      AnyEnvelope,
      { type: T }
    >[];
  }

  /** Events of a type about one action. */
  about<
    T extends
      'leash.actions.completed.v1' | 'leash.actions.rejected.v1' | 'leash.usage.recorded.v1',
  >(type: T, actionId: string): Extract<AnyEnvelope, { type: T }>[] {
    return this.of(type).filter(
      (e) => ((e as AnyEnvelope).data as { actionId?: string }).actionId === actionId,
    );
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = undefined;
  }
}
