import { type Subscription } from '@leash/bus';
import { listenOnBus } from '@leash/bus/nest';
import type { AnyEnvelope, EventType, TopicName } from '@leash/contracts';
import { OutboxRelay } from '@leash/store';
import { LedgerModule } from '../ledger/ledger.module';
import type { Harness } from './ledger-harness';

/** The ledger running on the harness's bus: its consumers, and a relay publishing its outbox. */
export interface LedgerOnBus {
  stop(): Promise<void>;
}

export async function runLedgerOnBus(h: Harness): Promise<LedgerOnBus> {
  const relay = new OutboxRelay({
    outbox: h.engines.store.outbox,
    bus: h.engines.bus,
    pollIntervalMs: 50,
  });
  relay.start();
  const subscription = await listenOnBus({
    bus: h.engines.bus,
    group: 'budget',
    module: LedgerModule.forUseCases(h.useCases, h.engines.store),
    subscribe: {
      fromBeginning: true,
      // Quick retries: a model request may overtake its task's registration.
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
    },
  });
  return {
    async stop() {
      await subscription.close();
      await relay.stop();
    },
  };
}

/** Collects what the ledger publishes, deduplicated by event id (delivery is at least once). */
export class Observer {
  readonly events = new Map<string, AnyEnvelope>();
  private subscription?: Subscription;
  private waiters: { count: number; resolve: () => void }[] = [];

  /** Resolves as soon as `count` distinct events have arrived: tighter than polling, to stop mid-stream. */
  reached(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve });
      this.wake();
    });
  }

  private wake(): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (this.events.size < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  async start(h: Harness, topics: readonly TopicName[]): Promise<void> {
    this.subscription = await h.engines.bus.subscribe(
      'test-observer',
      topics,
      async (delivery) => {
        this.events.set(delivery.event.id, delivery.event);
        this.wake();
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

  async stop(): Promise<void> {
    await this.subscription?.close();
  }
}
