import { BaseRpcContext } from '@nestjs/microservices';
import type { TopicName } from '@leash/contracts';
import type { Delivery } from '../bus.port';

type BusContextArgs = [delivery: Delivery];

/** The `@Ctx()` of a handler on the bus: where the event came from and how to behave during it. */
export class BusContext extends BaseRpcContext<BusContextArgs> {
  constructor(delivery: Delivery) {
    super([delivery]);
  }

  getDelivery(): Delivery {
    return this.args[0];
  }

  /** The logical topic (`actions.proposed`), as in `@EventPattern`. */
  getTopic(): TopicName {
    return this.args[0].topic;
  }

  getPartition(): number {
    return this.args[0].partition;
  }

  getOffset(): string {
    return this.args[0].offset;
  }

  getKey(): string {
    return this.args[0].key;
  }

  /** The message headers: CloudEvents attributes and W3C trace context. */
  getHeaders(): Readonly<Record<string, string>> {
    return this.args[0].headers;
  }

  /** 1 on first delivery; higher on a retry after a transient error. */
  getAttempt(): number {
    return this.args[0].attempt;
  }

  /** Call during long work so the group does not take the partition away. */
  getHeartbeat(): () => Promise<void> {
    return () => this.args[0].heartbeat();
  }

  /** Aborted when the consumer stops without waiting or loses the partition: pass it on to I/O. */
  getSignal(): AbortSignal {
    return this.args[0].signal;
  }
}
