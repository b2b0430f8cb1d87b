import type { Bus, DeadLetter, Delivery, Subscription } from '@leash/bus';
import { TOPIC_NAMES, type AnyEnvelope, type TopicName } from '@leash/contracts';
import type { Store } from '@leash/store';
import { auditEntries, runSummaries, runTools, type AuditEntry } from './audit.aggregates';
import { auditEntryOf } from './describe-event';
import { emptyRun, foldEvent, toolRowsOf } from './run-summary';

export const AUDIT_GROUP = 'audit';

export interface AuditRecorderOptions {
  readonly bus: Bus;
  readonly store: Store;
  /** Default `audit`: one group, so every instance shares the work and each event is recorded once. */
  readonly group?: string;
  readonly now?: () => Date;
}

export type RecordOutcome = 'recorded' | 'duplicate';

/**
 * The audit log's writer: a consumer group on every topic (and their
 * dead-letter topics) that records each event once, append-only, keyed by its
 * id, and keeps each task's run summary current in the same transaction.
 */
export class AuditRecorder {
  private readonly group: string;
  private readonly now: () => Date;
  private subscriptions: Subscription[] = [];

  constructor(private readonly options: AuditRecorderOptions) {
    this.group = options.group ?? AUDIT_GROUP;
    this.now = options.now ?? (() => new Date());
  }

  /** Subscribes from the beginning of the log: an audit that starts late still records everything retained. */
  async start(): Promise<void> {
    if (this.subscriptions.length > 0) return;
    const { bus } = this.options;
    this.subscriptions = [
      await bus.subscribe(this.group, TOPIC_NAMES, (delivery) => this.onDelivery(delivery), {
        fromBeginning: true,
      }),
      await bus.subscribeDeadLetters(`${this.group}.dlq`, TOPIC_NAMES, (letter) =>
        this.recordDeadLetter(letter),
      ),
    ];
  }

  async stop(): Promise<void> {
    const open = this.subscriptions;
    this.subscriptions = [];
    await Promise.all(open.map((subscription) => subscription.close()));
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    await this.record(delivery.topic, delivery.event, delivery.headers);
  }

  /** Records one event; a redelivered event is recognised by its id and changes nothing. */
  record(
    topic: TopicName,
    event: AnyEnvelope,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<RecordOutcome> {
    const now = this.now().toISOString();
    const entry = auditEntryOf(topic, event, headers, now);
    return this.options.store.transaction(async (tx) => {
      const entries = tx.repository(auditEntries);
      if (await entries.get(entry.entryId)) return 'duplicate';
      await entries.insert(entry);
      const taskId = event.taskId;
      if (!taskId) return 'recorded';
      const runs = tx.repository(runSummaries);
      const stored = await runs.get(taskId);
      const before = stored?.doc ?? emptyRun(event, taskId, now);
      const run = foldEvent(before, event, now);
      await runs.upsert(run);
      // Tool rows copy the run's search fields, so they change with it.
      const tools = tx.repository(runTools);
      for (const row of toolRowsOf(run)) await tools.upsert(row);
      return 'recorded';
    });
  }

  private async recordDeadLetter(letter: DeadLetter): Promise<void> {
    const now = this.now().toISOString();
    const entryId = `dlq:${letter.originalTopic}:${letter.originalPartition}:${letter.originalOffset}:${letter.group}`;
    const attributes = letter.headers;
    const entry: AuditEntry = {
      entryId,
      taskId: attributes['ce_taskid'] ?? null,
      tenantId: attributes['ce_tenantid'] ?? null,
      type: attributes['ce_type'] ?? 'unknown',
      topic: letter.originalTopic,
      source: attributes['ce_source'] ?? '',
      time: letter.failedAt,
      recordedAt: now,
      kind: 'dead_letter',
      summary: `dead-lettered by ${letter.group} after ${letter.attempts} attempt(s): ${letter.error.slice(0, 500)}`,
      data: { error: letter.error, key: letter.key, bytes: letter.value.length },
      ...(attributes.traceparent ? { traceparent: attributes.traceparent } : {}),
    };
    await this.options.store.transaction(async (tx) => {
      const entries = tx.repository(auditEntries);
      if (!(await entries.get(entryId))) await entries.insert(entry);
    });
  }
}
