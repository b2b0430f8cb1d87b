import { randomUUID } from 'node:crypto';
import type { Bus, Delivery, Subscription } from '@leash/bus';
import { createEnvelope, type AnyEnvelope, type KillV1 } from '@leash/contracts';
import { describeScope } from './kill-scope';
import type { KillSwitch } from './kill-switch';

/** What the channel reports; a Nest Logger fits. */
export interface ControlLog {
  log(message: string): void;
  error(message: string, stack?: string): void;
}

export interface ControlChannelOptions {
  readonly bus: Bus;
  readonly killSwitch: KillSwitch;
  /**
   * Runs after a kill with `rollback: true` is applied and acknowledged
   * (the executor's compensation). Must be idempotent: a redelivered kill
   * runs it again, and so does every instance of the service.
   */
  readonly onRollback?: (kill: KillV1) => Promise<void>;
  readonly log?: ControlLog;
  /**
   * Applies the control topic's other events (agent releases and their
   * routing), history and live alike, before the service starts its work.
   * Must be idempotent: each start applies the whole history again.
   */
  readonly extension?: ControlExtension;
}

/** What a service does with control events other than kills, resumes and acknowledgements. */
export interface ControlExtension {
  handle(event: AnyEnvelope, context: { readonly past: boolean }): Promise<void>;
}

/**
 * The consumer group of one start of one service instance on the control
 * topic. Per instance, not per service: a kill must reach every instance,
 * where a service-wide group would hand it to one of them only. Per start:
 * each start reads the topic's history from its beginning (see ControlChannel).
 */
export function controlGroup(service: string, instance: string, start?: string): string {
  return start === undefined
    ? `${service}.control.${instance}`
    : `${service}.control.${instance}.${start}`;
}

/** How long a start may take to read the control topic's history. */
const CATCH_UP_TIMEOUT_MS = 60_000;

/**
 * Applies every kill and resume on the control topic to a KillSwitch and
 * acknowledges it.
 *
 * A service instance that starts after a kill must honour it before it does
 * any work, even when it was not running when the kill was issued and its
 * store never recorded it (every instance of the service was down, or the
 * store is new). So each start reads the control topic from its beginning in
 * a consumer group of its own, and `start()` resolves only once it has
 * applied everything the topic held when it began: the service's consumers
 * start after that. History is applied, in order, to the KillSwitch, which
 * keeps a lifted kill lifted; it is neither acknowledged again nor rolled back
 * again (the instances that were running did both). Everything after is live.
 */
export class ControlChannel {
  readonly group: string;
  private subscription: Subscription | undefined;
  /** Per partition, the offset the history ends at (exclusive), while it is read. */
  private history = new Map<number, bigint>();
  private caughtUp: (() => void) | undefined;

  constructor(private readonly options: ControlChannelOptions) {
    this.group = controlGroup(
      options.killSwitch.service,
      options.killSwitch.instance,
      randomUUID().slice(0, 8),
    );
  }

  async start(): Promise<void> {
    if (this.subscription) return;
    const { bus, log } = this.options;
    const ranges = (await bus.ranges('control')) ?? [];
    this.history = new Map(
      ranges
        .filter((r) => BigInt(r.high) > BigInt(r.low))
        .map((r) => [r.partition, BigInt(r.high)]),
    );
    const read = new Promise<void>((resolve) => (this.caughtUp = resolve));
    if (this.history.size === 0) this.caughtUp?.();
    this.subscription = await bus.subscribe(
      this.group,
      ['control'],
      (delivery) => this.deliver(delivery),
      { fromBeginning: true },
    );
    // An event the bus dead-letters (invalid, or failing every attempt) never reaches the
    // handler: the group's committed position tells that the history was passed all the same.
    const poll = setInterval(() => void this.checkLag(), 500);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        read,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `the control topic's history was not read within ${CATCH_UP_TIMEOUT_MS} ms: ` +
                    'a kill issued while this instance was down could be missed, so it does not start',
                ),
              ),
            CATCH_UP_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
    }
    const active = this.options.killSwitch.active();
    if (active.length > 0) {
      log?.log(
        `${active.length} kill(s) in force at start: ${active.map((k) => describeScope(k.scope)).join(', ')}`,
      );
    }
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
  }

  private async checkLag(): Promise<void> {
    if (this.history.size === 0) return;
    const lags = (await this.options.bus.lag?.().catch(() => [])) ?? [];
    const ours = lags.filter((lag) => lag.group === this.group);
    for (const partition of [...this.history.keys()]) {
      if (ours.some((lag) => lag.partition === partition && lag.lag === 0)) {
        this.history.delete(partition);
      }
    }
    if (this.history.size === 0) this.caughtUp?.();
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const end = this.history.get(delivery.partition);
    const past = end !== undefined && BigInt(delivery.offset) < end;
    await this.handle(delivery.event, { past });
    if (past && BigInt(delivery.offset) >= end - 1n) {
      this.history.delete(delivery.partition);
      if (this.history.size === 0) this.caughtUp?.();
    }
  }

  /**
   * Applies one control event; acknowledgements (of anyone) are ignored, and
   * any other event goes to the extension. A past event (issued before this
   * start) is applied only: not acknowledged, not rolled back.
   */
  async handle(
    event: AnyEnvelope,
    { past = false }: { readonly past?: boolean } = {},
  ): Promise<void> {
    const { killSwitch, log } = this.options;
    if (event.type === 'leash.control.kill.v1') {
      const kill = event.data;
      const aborted = await killSwitch.apply(kill);
      if (past) return;
      await this.acknowledge(event.id, killSwitch.acknowledgement('kill', kill.commandId, aborted));
      log?.log(
        `kill ${kill.commandId} (${describeScope(kill.scope)}) by ${kill.issuedBy}: ` +
          `${aborted} in-flight call(s) aborted; "${kill.reason}"`,
      );
      if (kill.rollback && this.options.onRollback) await this.options.onRollback(kill);
    } else if (event.type === 'leash.control.resume.v1') {
      const resume = event.data;
      const lifted = await killSwitch.resume(resume);
      if (past) return;
      await this.acknowledge(event.id, killSwitch.acknowledgement('resume', resume.commandId, 0));
      log?.log(
        `resume ${resume.commandId} (${describeScope(resume.scope)}) by ${resume.issuedBy}: ` +
          `lifted ${lifted.length} kill(s)`,
      );
    } else if (event.type !== 'leash.control.ack.v1') {
      await this.options.extension?.handle(event, { past });
    }
  }

  private async acknowledge(
    commandEventId: string,
    ack: ReturnType<KillSwitch['acknowledgement']>,
  ): Promise<void> {
    const envelope = createEnvelope('leash.control.ack.v1', ack, {
      source: ack.service,
      // One id per command and instance: a redelivered command yields a duplicate consumers drop.
      id: `ack:${commandEventId}:${ack.service}:${ack.instance}`,
    });
    await this.options.bus.publish('control', envelope);
  }
}
