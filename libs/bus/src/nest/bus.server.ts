import {
  Server,
  type CustomTransportStrategy,
  type MessageHandler,
  type ReadPacket,
} from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { TOPICS, type TopicName } from '@leash/contracts';
import type { Bus, Delivery, SubscribeOptions, Subscription } from '../bus.port';
import { BusContext } from './bus.context';
import { BUS_TRANSPORT } from './tokens';

export interface BusServerOptions {
  readonly bus: Bus;
  /** The consumer group: the service name, so every instance of a service shares the work. */
  readonly group: string;
  readonly subscribe?: SubscribeOptions;
}

export type BusServerStatus = 'listening' | 'closed';

function isTopicName(pattern: string): pattern is TopicName {
  return Object.prototype.hasOwnProperty.call(TOPICS, pattern);
}

/**
 * A Nest transport over the Bus port: `@EventPattern('actions.proposed')`
 * handlers receive the validated envelope as payload and a BusContext. The
 * handler is awaited, so a thrown error (or an erroring observable) rejects
 * the delivery and the bus retries it or sends it to the dead-letter topic.
 */
export class BusServer
  extends Server<Record<string, never>, BusServerStatus>
  implements CustomTransportStrategy
{
  override readonly transportId = BUS_TRANSPORT;
  private subscription: Subscription | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BusServerOptions) {
    super();
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  listen(callback: (error?: unknown, info?: unknown) => void): void {
    this.start().then(
      (topics) => callback(undefined, { group: this.options.group, topics }),
      (error: unknown) => callback(error),
    );
  }

  /** The topics this app's handlers declare; throws on anything that is not a registered topic. */
  topics(): TopicName[] {
    const unknown: string[] = [];
    const requests: string[] = [];
    const topics: TopicName[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      if (!handler.isEventHandler) requests.push(pattern);
      else if (isTopicName(pattern)) topics.push(pattern);
      else unknown.push(pattern);
    }
    const problems: string[] = [];
    if (unknown.length > 0) {
      problems.push(
        `@EventPattern names no topic: ${unknown.map((p) => JSON.stringify(p)).join(', ')}; ` +
          `known topics: ${Object.keys(TOPICS).join(', ')}`,
      );
    }
    if (requests.length > 0) {
      problems.push(
        `the bus carries events only, not requests: replace @MessagePattern ${requests
          .map((p) => JSON.stringify(p))
          .join(', ')} with @EventPattern`,
      );
    }
    if (problems.length > 0) {
      throw new Error(`BusServer (group ${this.options.group}): ${problems.join('; ')}`);
    }
    return topics.sort();
  }

  private async start(): Promise<TopicName[]> {
    if (this.subscription) throw new Error(`BusServer (group ${this.options.group}) is listening`);
    const topics = this.topics();
    if (topics.length > 0) {
      // One group for every topic: one member per service instance, one offset per topic-partition.
      this.subscription = await this.options.bus.subscribe(
        this.options.group,
        topics,
        (delivery) => this.deliver(delivery),
        this.options.subscribe,
      );
    }
    this._status$.next('listening');
    return topics;
  }

  /**
   * A topic name is its own route. Nest would first try JSON.parse on it,
   * which throws (and costs an exception) for every plain-string pattern.
   */
  override getRouteFromPattern(pattern: string): string {
    return isTopicName(pattern) ? pattern : super.getRouteFromPattern(pattern);
  }

  private deliver(delivery: Delivery): Promise<void> {
    const packet: ReadPacket = { pattern: delivery.topic, data: delivery.event };
    return this.handleEvent(delivery.topic, packet, new BusContext(delivery));
  }

  /**
   * Unlike Nest's own, this awaits the handler (and its observable) so the
   * outcome reaches the bus. Processing hooks (instrumentation) still wrap
   * the work, even one that calls `done` later.
   */
  override async handleEvent(
    pattern: string,
    packet: ReadPacket,
    context: BusContext,
  ): Promise<void> {
    const handler: MessageHandler | null = this.getHandlerByPattern(pattern);
    // Only subscribed topics arrive, and each has a handler; a miss is a bug worth a retry and a DLQ.
    if (!handler) throw new Error(`no @EventPattern handler for ${pattern}`);
    const run = async (): Promise<void> => {
      try {
        const result = await handler(packet.data, context);
        if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
      } finally {
        this.onProcessingEndHook?.(this.transportId, context);
      }
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const done = (): Promise<void> => {
          const work = run();
          work.then(resolve, reject);
          return work;
        };
        try {
          this.onProcessingStartHook(this.transportId, context, done);
        } catch (error) {
          reject(error);
        }
      });
    } catch (error) {
      // Without BusExceptionFilter, Nest hands us a plain `{ status, message }`; the bus needs an Error.
      throw error instanceof Error ? error : new Error(`handler failed: ${JSON.stringify(error)}`);
    }
  }

  /** Stops consuming: waits for in-flight handlers and commits them. The bus itself stays open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const subscription = this.subscription;
      this.subscription = undefined;
      await subscription?.close();
      this._status$.next('closed');
    })();
    return this.closing;
  }

  on(): never {
    throw new Error('BusServer has no events; watch .status instead');
  }

  unwrap<T>(): T {
    return this.options.bus as T;
  }
}
