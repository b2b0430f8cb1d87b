import type { Bus, Subscription } from '@leash/bus';
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
}

/**
 * The consumer group of one service instance on the control topic. Per
 * instance, not per service: a kill must reach every instance, where a
 * service-wide group would hand it to one of them only.
 */
export function controlGroup(service: string, instance: string): string {
  return `${service}.control.${instance}`;
}

/**
 * Applies every kill and resume on the control topic to a KillSwitch and
 * acknowledges it. It starts at the end of the log: kills issued before are
 * in the store, which the KillSwitch loaded.
 */
export class ControlChannel {
  readonly group: string;
  private subscription: Subscription | undefined;

  constructor(private readonly options: ControlChannelOptions) {
    this.group = controlGroup(options.killSwitch.service, options.killSwitch.instance);
  }

  async start(): Promise<void> {
    if (this.subscription) return;
    this.subscription = await this.options.bus.subscribe(
      this.group,
      ['control'],
      (delivery) => this.handle(delivery.event),
      { fromBeginning: false },
    );
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
  }

  /** Applies one control event; acknowledgements (of anyone) are ignored. */
  async handle(event: AnyEnvelope): Promise<void> {
    const { killSwitch, log } = this.options;
    if (event.type === 'leash.control.kill.v1') {
      const kill = event.data;
      const aborted = await killSwitch.apply(kill);
      await this.acknowledge(event.id, killSwitch.acknowledgement('kill', kill.commandId, aborted));
      log?.log(
        `kill ${kill.commandId} (${describeScope(kill.scope)}) by ${kill.issuedBy}: ` +
          `${aborted} in-flight call(s) aborted; "${kill.reason}"`,
      );
      if (kill.rollback && this.options.onRollback) await this.options.onRollback(kill);
    } else if (event.type === 'leash.control.resume.v1') {
      const resume = event.data;
      const lifted = await killSwitch.resume(resume);
      await this.acknowledge(event.id, killSwitch.acknowledgement('resume', resume.commandId, 0));
      log?.log(
        `resume ${resume.commandId} (${describeScope(resume.scope)}) by ${resume.issuedBy}: ` +
          `lifted ${lifted.length} kill(s)`,
      );
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
