import { randomUUID } from 'node:crypto';
import type { Bus, Subscription } from '@leash/bus';
import {
  TOPICS,
  TOPIC_NAMES,
  createEnvelope,
  type AnyEnvelope,
  type Envelope,
  type TopicName,
} from '@leash/contracts';
import {
  DEFAULT_CLIENT_SOURCE,
  runApprovalConsumer,
  type ApprovalConsumer,
  type ApprovalConsumerOptions,
} from './approval-consumer';
import {
  toVerdictSigningKey,
  verdictEvent,
  type ApprovalRef,
  type Verdict,
  type VerdictKey,
} from './verdict';
import type { VerdictSigningKey } from '@leash/signing';

export interface LeashClientOptions {
  /** Opened and closed by the caller; the client never closes it. */
  readonly bus: Bus;
  /** The CloudEvents source of what this client publishes: the upstream system's name. Default `leash-client`. */
  readonly source?: string;
  /**
   * Signs the verdicts `decide`, `approve`, `reject` and `edit` send: the reviewer's private
   * key, or a trusted front end's. Not needed to submit or watch tasks.
   */
  readonly verdictKey?: VerdictKey;
}

export interface SubmitTaskInput {
  readonly tenantId: string;
  /** Agent profile name. */
  readonly agent: string;
  /** The task as the upstream system states it. Treated as untrusted. */
  readonly input: string;
  /** Default: a new UUID. Pass one to make a resubmission the same task. */
  readonly taskId?: string;
  /** Pin a profile version; the current one applies when absent. */
  readonly agentVersion?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly requestedBy?: string;
  readonly deadlineAt?: Date | string;
}

/** Every topic keyed by task: what one task's life is made of, in order per topic. */
export const TASK_TOPICS: readonly TopicName[] = TOPIC_NAMES.filter(
  (topic) => TOPICS[topic].key === 'taskId',
);

export interface WatchTaskOptions {
  /** Also deliver the task's events published before the watch began. Default true. */
  readonly fromBeginning?: boolean;
  /** Errors thrown by `onEvent`; the watch goes on. Default: ignored. */
  readonly onError?: (error: unknown, event: AnyEnvelope) => void;
}

/** A watch on one task. Close it outside `onEvent`: closing waits for the handler in flight. */
export interface TaskWatch {
  readonly taskId: string;
  /** Resolves with tasks.finished. */
  readonly finished: Promise<Envelope<'leash.tasks.finished.v1'>>;
  close(): Promise<void>;
}

/**
 * The SDK for systems that hand tasks to Leash and for reviewers' processes.
 * It only talks to the bus: tasks in on tasks.requested, progress out on the
 * task topics, verdicts on approvals.decided.
 */
export class LeashClient {
  private readonly bus: Bus;
  readonly source: string;
  private readonly verdictKey: VerdictSigningKey | undefined;

  constructor(options: LeashClientOptions) {
    this.bus = options.bus;
    this.source = options.source ?? DEFAULT_CLIENT_SOURCE;
    this.verdictKey =
      options.verdictKey !== undefined ? toVerdictSigningKey(options.verdictKey) : undefined;
  }

  /** Publishes tasks.requested; resolves with the task id once the bus has it. */
  async submitTask(task: SubmitTaskInput): Promise<string> {
    const taskId = task.taskId ?? randomUUID();
    const deadlineAt =
      task.deadlineAt instanceof Date ? task.deadlineAt.toISOString() : task.deadlineAt;
    const event = createEnvelope(
      'leash.tasks.requested.v1',
      {
        agent: task.agent,
        input: task.input,
        ...(task.agentVersion !== undefined ? { agentVersion: task.agentVersion } : {}),
        ...(task.metadata !== undefined ? { metadata: { ...task.metadata } } : {}),
        ...(task.requestedBy !== undefined ? { requestedBy: task.requestedBy } : {}),
        ...(deadlineAt !== undefined ? { deadlineAt } : {}),
      },
      { source: this.source, tenantId: task.tenantId, taskId },
    );
    await this.bus.publish('tasks.requested', event);
    return taskId;
  }

  /**
   * Calls `onEvent` with each event of the task, per topic in order, under a
   * consumer group of its own (so it sees every event, whoever else consumes).
   */
  async watchTask(
    taskId: string,
    onEvent: (event: AnyEnvelope) => void | Promise<void>,
    options: WatchTaskOptions = {},
  ): Promise<TaskWatch> {
    let finish!: (event: Envelope<'leash.tasks.finished.v1'>) => void;
    const finished = new Promise<Envelope<'leash.tasks.finished.v1'>>((resolve) => {
      finish = resolve;
    });
    // A watcher that never awaits `finished` must not see an unhandled rejection: it never rejects.
    const subscription: Subscription = await this.bus.subscribe(
      `leash-client.watch.${taskId}.${randomUUID()}`,
      TASK_TOPICS,
      async (delivery) => {
        const event = delivery.event;
        if (event.taskId !== taskId) return;
        try {
          await onEvent(event);
        } catch (error) {
          options.onError?.(error, event);
        }
        if (event.type === 'leash.tasks.finished.v1') finish(event);
      },
      { fromBeginning: options.fromBeginning ?? true },
    );
    return { taskId, finished, close: () => subscription.close() };
  }

  /**
   * Publishes a verdict on approvals.decided, signed with `options.key` or the client's
   * `verdictKey`; resolves with the event sent. Throws when there is no key to sign with.
   */
  async decide(
    ref: ApprovalRef,
    reviewer: string,
    verdict: Verdict,
    options: { readonly id?: string; readonly key?: VerdictKey } = {},
  ): Promise<Envelope<'leash.approvals.decided.v1'>> {
    const key = options.key ?? this.verdictKey;
    if (key === undefined) {
      throw new Error(
        `a verdict of ${reviewer} must be signed: give the client a verdictKey, or decide(..., { key })`,
      );
    }
    const event = verdictEvent(ref, reviewer, verdict, {
      source: this.source,
      key,
      ...(options.id !== undefined ? { id: options.id } : {}),
    });
    await this.bus.publish('approvals.decided', event);
    return event;
  }

  approve(ref: ApprovalRef, reviewer: string, comment?: string) {
    return this.decide(ref, reviewer, {
      verdict: 'approve',
      ...(comment !== undefined ? { comment } : {}),
    });
  }

  reject(ref: ApprovalRef, reviewer: string, feedback: string) {
    return this.decide(ref, reviewer, { verdict: 'reject', feedback });
  }

  edit(ref: ApprovalRef, reviewer: string, args: Record<string, unknown>, comment?: string) {
    return this.decide(ref, reviewer, {
      verdict: 'edit',
      arguments: args,
      ...(comment !== undefined ? { comment } : {}),
    });
  }

  /** Runs a reviewer's process on this client's bus; see `runApprovalConsumer`. */
  runApprovalConsumer(
    options: Omit<ApprovalConsumerOptions, 'source'> & { readonly source?: string },
  ): Promise<ApprovalConsumer> {
    return runApprovalConsumer(this.bus, { source: this.source, ...options });
  }
}
