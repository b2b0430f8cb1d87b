import type { Bus, DeadLetter, Delivery, Subscription } from '@leash/bus';
import { TOPIC_NAMES, type AnyEnvelope, type TopicName } from '@leash/contracts';
import type { Store } from '@leash/store';
import { leashMetrics, markFailed, startBatchProcessSpan } from '@leash/telemetry';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { auditEntries, runSummaries, runTools } from './audit.aggregates';
import { deadLetterEntry } from './dead-letter-entry';
import { auditEntryOf } from './describe-event';
import { changedToolRows, emptyRun, foldEvent } from './run-summary';

export const AUDIT_GROUP = 'audit';

export interface AuditRecorderOptions {
  readonly bus: Bus;
  readonly store: Store;
  /** Default `audit`: one group, so every instance shares the work and each event is recorded once. */
  readonly group?: string;
  readonly now?: () => Date;
  /**
   * How long a delivered event waits for others to share its transaction.
   * The events of one step arrive within milliseconds of each other, and one
   * transaction writes each task's run summary once for all of them. Default
   * 5 ms; 0 records each event in its own transaction.
   */
  readonly lingerMs?: number;
  /** A batch is written at once when it reaches this many events. Default 256. */
  readonly maxBatch?: number;
}

export type RecordOutcome = 'recorded' | 'duplicate';

interface AuditItem {
  readonly topic: TopicName;
  readonly event: AnyEnvelope;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Waiting {
  readonly item: AuditItem;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The audit log's writer: a consumer group on every topic (and their
 * dead-letter topics) that records each event once, append-only, keyed by its
 * id, and keeps each task's run summary current in the same transaction.
 *
 * Deliveries are gathered for `lingerMs` and recorded together; each is
 * acknowledged (and so committed on the bus) only once its batch committed.
 * When a batch fails, its events are recorded one by one, so one bad event
 * fails alone instead of taking its batch to the dead-letter topic with it.
 *
 * Each batch is one `process` span linking the events it recorded, not a
 * span per event: a task's trace shows its hops, and each of its events
 * linked from the audit batch that recorded it.
 */
export class AuditRecorder {
  private readonly group: string;
  private readonly now: () => Date;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  private subscriptions: Subscription[] = [];
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AuditRecorderOptions) {
    this.group = options.group ?? AUDIT_GROUP;
    this.now = options.now ?? (() => new Date());
    this.lingerMs = options.lingerMs ?? 5;
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    if (!(Number.isFinite(this.lingerMs) && this.lingerMs >= 0)) {
      throw new RangeError(`AuditRecorder: lingerMs must be a number >= 0, got ${this.lingerMs}`);
    }
  }

  /** Subscribes from the beginning of the log: an audit that starts late still records everything retained. */
  async start(): Promise<void> {
    if (this.subscriptions.length > 0) return;
    const { bus } = this.options;
    this.subscriptions = [
      await bus.subscribe(this.group, TOPIC_NAMES, (delivery) => this.onDelivery(delivery), {
        fromBeginning: true,
        processSpans: false,
      }),
      await bus.subscribeDeadLetters(`${this.group}.dlq`, TOPIC_NAMES, (letter) =>
        this.recordDeadLetter(letter),
      ),
    ];
  }

  async stop(): Promise<void> {
    const open = this.subscriptions;
    this.subscriptions = [];
    const closed = Promise.all(open.map((subscription) => subscription.close()));
    // In-flight handlers wait for their batch: write it now rather than after the linger.
    this.flush();
    await closed;
  }

  private onDelivery(delivery: Delivery): Promise<void> {
    const item = { topic: delivery.topic, event: delivery.event, headers: delivery.headers };
    if (this.lingerMs === 0) return this.recordDelivered([item]).then(() => undefined);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    void this.recordDelivered(batch.map((w) => w.item)).then(
      () => batch.forEach((w) => w.resolve()),
      (error: unknown) => {
        // One event failed on its own already: the bus retries it, no need to here.
        if (batch.length === 1) batch[0]!.reject(error);
        else for (const waiting of batch) void this.recordAlone(waiting);
      },
    );
  }

  private recordAlone(waiting: Waiting): Promise<void> {
    return this.recordDelivered([waiting.item]).then(
      () => waiting.resolve(),
      (error: unknown) => waiting.reject(error),
    );
  }

  /** Records one event; a redelivered event is recognised by its id and changes nothing. */
  async record(
    topic: TopicName,
    event: AnyEnvelope,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<RecordOutcome> {
    const [outcome] = await this.recordAll([{ topic, event, headers }]);
    return outcome!;
  }

  /** Records a batch of deliveries inside the batch's `process` span. */
  private async recordDelivered(items: readonly AuditItem[]): Promise<RecordOutcome[]> {
    const { bus } = this.options;
    const span = startBatchProcessSpan({
      system: bus.system,
      group: this.group,
      messages: items.map(({ topic, event, headers }) => ({
        destination: bus.topicName(topic),
        headers: headers ?? {},
        event,
      })),
    });
    try {
      return await context.with(trace.setSpan(ROOT_CONTEXT, span), () => this.recordAll(items));
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Records events in one transaction, in order; each task's run summary is
   * read and written once, with every new event of the batch folded in.
   */
  private async recordAll(items: readonly AuditItem[]): Promise<RecordOutcome[]> {
    const now = this.now().toISOString();
    const entries = items.map(({ topic, event, headers }) =>
      auditEntryOf(topic, event, headers ?? {}, now),
    );
    // Counted once the transaction commits, and only for events recorded for the first time.
    const counts: (() => void)[] = [];
    const outcomes = await this.options.store.transaction(async (tx) => {
      counts.length = 0;
      const entryRepository = tx.repository(auditEntries);
      const outcomes: RecordOutcome[] = [];
      const newByTask = new Map<string, AnyEnvelope[]>();
      for (const [i, entry] of entries.entries()) {
        if (!(await entryRepository.insertIfAbsent(entry))) {
          outcomes.push('duplicate');
          continue;
        }
        outcomes.push('recorded');
        const event = items[i]!.event;
        if (!event.taskId) continue;
        const events = newByTask.get(event.taskId);
        if (events) events.push(event);
        else newByTask.set(event.taskId, [event]);
      }
      const runs = tx.repository(runSummaries);
      const tools = tx.repository(runTools);
      for (const [taskId, events] of newByTask) {
        const stored = await runs.get(taskId);
        let run = stored?.doc ?? emptyRun(events[0]!, taskId, now);
        for (const event of events) {
          run = foldEvent(run, event, now);
          const count = countOf(event, run.agent);
          if (count) counts.push(count);
        }
        await runs.upsert(run);
        // Tool rows copy the run's search fields, so they change with it (and only then).
        for (const row of changedToolRows(stored?.doc, run)) await tools.upsert(row);
      }
      return outcomes;
    });
    for (const count of counts) count();
    return outcomes;
  }

  private async recordDeadLetter(letter: DeadLetter): Promise<void> {
    const entry = deadLetterEntry(letter, this.now().toISOString());
    await this.options.store.transaction(async (tx) => {
      const entries = tx.repository(auditEntries);
      if (!(await entries.get(entry.entryId))) await entries.insert(entry);
    });
  }
}

/** What an event adds to the task and model metrics, if anything. */
function countOf(event: AnyEnvelope, agent: string): (() => void) | undefined {
  const metrics = leashMetrics();
  const label = agent || 'unknown';
  if (event.type === 'leash.tasks.finished.v1') {
    const { status } = event.data as { status: string };
    return () => metrics.tasksFinished.inc({ agent: label, status });
  }
  if (event.type === 'leash.usage.recorded.v1') {
    const usage = event.data as {
      kind: string;
      model?: string;
      inputTokens: number;
      outputTokens: number;
      usdMicros: number;
    };
    if (usage.kind !== 'model') return undefined;
    const model = usage.model ?? 'unknown';
    return () => {
      metrics.modelTokens.inc({ agent: label, model, type: 'input' }, usage.inputTokens);
      metrics.modelTokens.inc({ agent: label, model, type: 'output' }, usage.outputTokens);
      metrics.modelCost.inc({ agent: label, model }, usage.usdMicros / 1_000_000);
    };
  }
  return undefined;
}
