import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Bus, Subscription } from '@leash/bus';
import {
  ServiceName,
  createEnvelope,
  type ControlAckV1,
  type KillScope,
  type KillV1,
  type ResumeV1,
} from '@leash/contracts';

/** Every service acknowledges every command. */
export const ALL_SERVICES: readonly ServiceName[] = ServiceName.options;

export interface KillOrder {
  readonly scope: KillScope;
  readonly reason: string;
  readonly rollback?: boolean;
  readonly issuedBy: string;
}

export type ResumeOrder = Omit<KillOrder, 'rollback'>;

export interface AckReceipt {
  readonly ack: ControlAckV1;
  /** From just before the command was published to the ack's arrival here. */
  readonly elapsedMs: number;
}

export interface IssueOptions {
  /** The services whose acknowledgement completes the command. Default: all five. */
  readonly services?: readonly ServiceName[];
  /** How long to wait for them. Default 10 s. */
  readonly timeoutMs?: number;
  /** Told about each acknowledgement as it arrives (several per service when it runs several instances). */
  readonly onAck?: (receipt: AckReceipt) => void;
}

export interface IssueResult {
  readonly commandId: string;
  readonly command: 'kill' | 'resume';
  /** In arrival order. */
  readonly acks: readonly AckReceipt[];
  /** Expected services that did not acknowledge before the timeout; empty on success. */
  readonly missing: readonly ServiceName[];
}

interface Waiting {
  readonly started: number;
  readonly receipts: AckReceipt[];
  readonly expected: Set<ServiceName>;
  readonly onAck?: (receipt: AckReceipt) => void;
  readonly done: () => void;
}

/**
 * Issues kills and resumes and collects their acknowledgements: what
 * `leash kill` / `leash resume` and the kill benchmark run. One subscription
 * (its own group, from the end of the log) serves every command it issues.
 */
export class ControlCommander {
  private readonly waiting = new Map<string, Waiting>();
  private subscription: Subscription | undefined;

  private constructor(
    private readonly bus: Bus,
    private readonly source: string,
  ) {}

  /** Subscribes before anything is issued, so no acknowledgement can be missed. */
  static async open(bus: Bus, options: { source?: string } = {}): Promise<ControlCommander> {
    const source = options.source ?? 'leash-cli';
    const commander = new ControlCommander(bus, source);
    commander.subscription = await bus.subscribe(
      `${source}.${randomUUID()}`,
      ['control'],
      async (delivery) => {
        if (delivery.event.type === 'leash.control.ack.v1') commander.received(delivery.event.data);
      },
      { fromBeginning: false },
    );
    return commander;
  }

  kill(order: KillOrder, options: IssueOptions = {}): Promise<IssueResult> {
    const data: KillV1 = {
      commandId: randomUUID(),
      scope: order.scope,
      reason: order.reason,
      rollback: order.rollback ?? false,
      issuedBy: order.issuedBy,
      issuedAt: new Date().toISOString(),
    };
    return this.issue('kill', data, options);
  }

  resume(order: ResumeOrder, options: IssueOptions = {}): Promise<IssueResult> {
    const data: ResumeV1 = {
      commandId: randomUUID(),
      scope: order.scope,
      reason: order.reason,
      issuedBy: order.issuedBy,
      issuedAt: new Date().toISOString(),
    };
    return this.issue('resume', data, options);
  }

  async close(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
  }

  private async issue(
    command: 'kill' | 'resume',
    data: KillV1 | ResumeV1,
    options: IssueOptions,
  ): Promise<IssueResult> {
    if (!this.subscription) throw new Error('the control commander is closed');
    const envelope =
      command === 'kill'
        ? createEnvelope('leash.control.kill.v1', data as KillV1, { source: this.source })
        : createEnvelope('leash.control.resume.v1', data as ResumeV1, { source: this.source });
    const expected = new Set(options.services ?? ALL_SERVICES);
    const receipts: AckReceipt[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeoutMs ?? 10_000);
      this.waiting.set(data.commandId, {
        started: performance.now(),
        receipts,
        expected,
        onAck: options.onAck,
        done: resolve,
      });
    });
    try {
      // Registered before publishing: an ack can arrive before publish() resolves.
      await this.bus.publish('control', envelope);
      if (expected.size > 0) await finished;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(data.commandId);
    }
    return { commandId: data.commandId, command, acks: receipts, missing: [...expected] };
  }

  private received(ack: ControlAckV1): void {
    const waiting = this.waiting.get(ack.commandId);
    if (!waiting) return;
    // Consumers may see an ack twice (at-least-once); report an instance once.
    if (
      waiting.receipts.some((r) => r.ack.service === ack.service && r.ack.instance === ack.instance)
    ) {
      return;
    }
    const receipt = { ack, elapsedMs: performance.now() - waiting.started };
    waiting.receipts.push(receipt);
    waiting.onAck?.(receipt);
    waiting.expected.delete(ack.service);
    if (waiting.expected.size === 0) waiting.done();
  }
}
