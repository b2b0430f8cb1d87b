import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  TOPICS,
  TOPIC_NAMES,
  decodeEnvelope,
  deadLetterTopic,
  encodeEnvelope,
  isValidatedEnvelope,
  topicOf,
  type AnyEnvelope,
  type Envelope,
  type EventTypeOn,
  type TopicDefinition,
  type TopicName,
  type WireMessage,
} from '@leash/contracts';
import {
  hasSpanContext,
  leashMetrics,
  markFailed,
  publishedAt,
  startProcessSpan,
  startPublishSpan,
  taskTraceContext,
} from '@leash/telemetry';
import type {
  BatchHandler,
  BatchOptions,
  Bus,
  BusTransport,
  ConsumerLag,
  PartitionRange,
  ConsumeControls,
  DeadLetter,
  Delivery,
  EventHandler,
  PublishOptions,
  PublishReceipt,
  RecordHandler,
  RetryPolicy,
  SubscribeOptions,
  Subscription,
  TransportConsumer,
  TransportRecord,
} from './bus.port';
import { toDeadLetter, toDeadLetterMessage } from './dead-letter';
import { isTransient } from './errors';
import { backoffDelayMs, resolveRetryPolicy, waitBeforeRetry } from './retry';

export interface BusOptions {
  readonly transport: BusTransport;
  /** The CloudEvents `source` of this bus's producer (service name); for logs and defaults. */
  readonly source: string;
  /** Prepended to every logical topic. Default `leash.`. */
  readonly topicPrefix?: string;
  /** Partitions of topics this bus creates. Default 8. */
  readonly partitions?: number;
  /** Default retry policy of subscriptions; each subscription may override it. */
  readonly retry?: Partial<RetryPolicy>;
  /** Jitter source; injectable so tests can pin backoff. */
  readonly random?: () => number;
}

export const DEFAULT_TOPIC_PREFIX = 'leash.';
export const DEFAULT_PARTITIONS = 8;
/** How long a batch's scope takes events before it commits them (BatchOptions.maxMs). */
export const DEFAULT_BATCH_MS = 10;

/**
 * Validate once per process: the bytes this process published of an envelope
 * it validated when it built it (createEnvelope), with that envelope. A
 * consumer in the same process handed these very bytes back (the embedded
 * log keeps its newest records in memory) takes the envelope instead of
 * parsing and checking the data again; bytes from anywhere else (another
 * process, a broker, a file) are never in here and are checked at the edge.
 * The envelope is frozen, deeply, before it is shared: consumers in several
 * groups get the one object, and a change by one would reach the others.
 */
const BUILT_HERE = new WeakMap<Buffer, AnyEnvelope>();

/** Freezes `value` and everything it holds; returns it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    if (ArrayBuffer.isView(value)) return value; // event data is JSON: none, but they cannot be frozen
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** The envelope this process built for these bytes, when it did and it travels on `topic`. */
function builtHere(topic: TopicName, record: TransportRecord): AnyEnvelope | undefined {
  const envelope = BUILT_HERE.get(record.value);
  return envelope !== undefined && topicOf(envelope) === topic ? envelope : undefined;
}

/** The span of a delivery whose handler traces itself: records nothing, parents nothing. */
const UNTRACED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Builds the service-facing bus over any transport; every adapter gets the same semantics from here. */
export function createBus(options: BusOptions): Bus {
  return new TransportBus(options);
}

/**
 * The parent of a publish span: the active span; else the trace context the
 * caller captured when the event was caused (the outbox relay publishes long
 * after, outside any span); else, for a task's event, the task's own trace.
 */
function publishParent(
  envelope: { readonly taskId?: string },
  headers: Readonly<Record<string, string>> | undefined,
): Context {
  const active = context.active();
  if (hasSpanContext(active)) return active;
  if (headers?.traceparent !== undefined) {
    const carried = propagation.extract(active, headers);
    if (hasSpanContext(carried)) return carried;
  }
  return envelope.taskId !== undefined ? taskTraceContext(envelope.taskId, active) : active;
}

/** What a handler receives. A class, not a literal: one shape for every delivery keeps the hot path monomorphic. */
class EventDelivery implements Delivery {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly #controls: ConsumeControls;

  constructor(
    readonly topic: TopicName,
    record: TransportRecord,
    readonly event: AnyEnvelope,
    readonly attempt: number,
    controls: ConsumeControls,
  ) {
    this.partition = record.partition;
    this.offset = record.offset;
    this.key = record.key;
    this.headers = record.headers;
    this.signal = controls.signal;
    this.#controls = controls;
  }

  heartbeat(): Promise<void> {
    return this.#controls.heartbeat();
  }
}

class TransportBus implements Bus {
  readonly system: string;
  private readonly transport: BusTransport;
  private readonly partitions: number;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  // Names are computed once: publish and consume only look them up.
  private readonly physical = new Map<TopicName, string>();
  private readonly logical = new Map<string, TopicName>();
  private readonly deadLetters = new Map<string, string>();
  private readonly ready = new Set<TopicName>();
  private readonly ensuring = new Map<TopicName, Promise<void>>();
  private readonly subscriptions = new Set<BusSubscription>();
  private readonly metrics = leashMetrics();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BusOptions) {
    this.transport = options.transport;
    this.system = options.transport.system;
    this.partitions = options.partitions ?? DEFAULT_PARTITIONS;
    if (!Number.isInteger(this.partitions) || this.partitions < 1) {
      throw new RangeError(`partitions must be a positive integer, got ${options.partitions}`);
    }
    this.retry = resolveRetryPolicy(options.retry);
    this.random = options.random ?? Math.random;
    const prefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    for (const topic of TOPIC_NAMES) {
      const name = prefix + topic;
      this.physical.set(topic, name);
      this.logical.set(name, topic);
      this.deadLetters.set(name, deadLetterTopic(name));
    }
  }

  topicName(topic: TopicName): string {
    const name = this.physical.get(topic);
    if (name === undefined) throw new Error(`unknown topic "${topic}"`);
    return name;
  }

  async publish<T extends TopicName>(
    topic: T,
    envelope: Envelope<EventTypeOn<T>>,
    options?: PublishOptions,
  ): Promise<PublishReceipt> {
    this.assertOpen();
    // Throws EventValidationError when the type does not travel on this topic or lacks its key.
    const message = encodeEnvelope(topic, envelope);
    const extra = options?.headers;
    // CloudEvents attributes win over caller headers: the envelope is the truth.
    const headers = extra ? { ...extra, ...message.headers } : message.headers;
    // The publish span's parent: the active span, else the context the caller captured when
    // the event was caused (the outbox relay publishes long after, outside any span).
    const parent = publishParent(envelope, extra);
    const name = this.topicName(topic);
    const span = startPublishSpan({
      system: this.system,
      destination: name,
      key: message.key,
      bodySize: message.value.length,
      event: envelope,
      parent,
    });
    propagation.inject(trace.setSpan(parent, span), headers);
    try {
      if (isValidatedEnvelope(envelope)) {
        BUILT_HERE.set(message.value, deepFreeze(envelope as AnyEnvelope));
      }
      const receipt = await this.send(
        topic,
        extra ? { key: message.key, value: message.value, headers } : message,
      );
      publishedAt(span, receipt.partition, receipt.offset);
      this.metrics.published.inc({ topic: name });
      if (envelope.type === 'leash.control.ack.v1') {
        const ack = envelope.data as { service?: string; command?: string };
        this.metrics.killAcks.inc({ service: ack.service ?? '', command: ack.command ?? '' });
      }
      return receipt;
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  async publishRaw(topic: TopicName, message: WireMessage): Promise<PublishReceipt> {
    this.assertOpen();
    return this.send(topic, message);
  }

  private async send(topic: TopicName, message: WireMessage): Promise<PublishReceipt> {
    const name = this.topicName(topic);
    if (!this.ready.has(topic)) await this.provision([topic]);
    const receipts = await this.transport.send(name, [message]);
    return receipts[0];
  }

  /** Creates each topic and its dead-letter topic once per bus; a failure is not cached, so the next call retries. */
  async provision(topics: readonly TopicName[]): Promise<void> {
    this.assertOpen();
    const pending: Promise<void>[] = [];
    for (const topic of topics) {
      if (this.ready.has(topic)) continue;
      let ensuring = this.ensuring.get(topic);
      if (!ensuring) {
        const name = this.topicName(topic);
        ensuring = this.transport
          .ensureTopics([
            {
              name,
              partitions: this.partitions,
              ...((TOPICS[topic] as TopicDefinition).keepForever ? { keepForever: true } : {}),
            },
            { name: deadLetterTopic(name), partitions: this.partitions },
          ])
          .then(
            () => {
              this.ready.add(topic);
              this.ensuring.delete(topic);
            },
            (error: unknown) => {
              this.ensuring.delete(topic);
              throw error;
            },
          );
        this.ensuring.set(topic, ensuring);
      }
      pending.push(ensuring);
    }
    await Promise.all(pending);
  }

  async subscribe(
    group: string,
    topics: readonly TopicName[],
    handler: EventHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const names = this.prepare(group, topics);
    await this.provision(topics);
    const retry = resolveRetryPolicy(this.retry, options.retry);
    const traced = options.processSpans !== false;
    const onRecord = this.eventHandler(group, handler, retry, traced);
    const { batch } = options;
    if (batch && batch.maxEvents > 1) {
      const onBatch = this.batchHandler(group, handler, onRecord, batch, traced);
      const spec = { group, topics: names };
      const consumer = await this.transport.consumeBatches(
        options.fromBeginning === undefined
          ? spec
          : { ...spec, fromBeginning: options.fromBeginning },
        Math.floor(batch.maxEvents),
        onBatch,
      );
      return this.track(group, consumer);
    }
    return this.open(group, names, onRecord, options.fromBeginning);
  }

  async subscribeDeadLetters(
    group: string,
    topics: readonly TopicName[],
    handler: (letter: DeadLetter) => Promise<void>,
  ): Promise<Subscription> {
    const names = this.prepare(group, topics).map((name) => deadLetterTopic(name));
    await this.provision(topics);
    // A rejection is redelivered by the transport: there is no dead-letter topic for dead letters.
    const onRecord: RecordHandler = (record) => handler(toDeadLetter(record));
    return this.open(group, names, onRecord, undefined);
  }

  private prepare(group: string, topics: readonly TopicName[]): string[] {
    this.assertOpen();
    if (!group) throw new Error('a consumer group name is required');
    if (topics.length === 0) throw new Error(`${group}: subscribe to at least one topic`);
    return [...new Set(topics)].map((topic) => this.topicName(topic));
  }

  private async open(
    group: string,
    topics: string[],
    handler: RecordHandler,
    fromBeginning: boolean | undefined,
  ): Promise<Subscription> {
    const consumer = await this.transport.consume(
      fromBeginning === undefined ? { group, topics } : { group, topics, fromBeginning },
      handler,
    );
    return this.track(group, consumer);
  }

  private track(group: string, consumer: TransportConsumer): Subscription {
    const subscription = new BusSubscription(group, consumer, this.subscriptions);
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** The event a record carries: the envelope this process built, or the record checked at the edge. */
  private decode(record: TransportRecord): { topic: TopicName; event: AnyEnvelope } {
    const topic = this.logical.get(record.topic);
    if (topic === undefined) throw new Error(`record from unknown topic "${record.topic}"`);
    return { topic, event: builtHere(topic, record) ?? decodeEnvelope(topic, record) };
  }

  /** Where a delivery's handler runs: its process span, in the producer's (or the task's) trace. */
  private processContext(
    record: TransportRecord,
    group: string,
    event: AnyEnvelope,
    traced: boolean,
  ): { span: Span; context: Context } {
    if (!traced) return { span: UNTRACED, context: ROOT_CONTEXT };
    let parent = propagation.extract(ROOT_CONTEXT, record.headers);
    if (event.taskId !== undefined && !hasSpanContext(parent)) {
      parent = taskTraceContext(event.taskId);
    }
    const span = this.processSpan(record, group, event, parent);
    // A no-op span of no trace must not shadow the (absent) producer's context in the handler.
    return {
      span,
      context: isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : parent,
    };
  }

  /**
   * The batch path (SubscribeOptions.batch): a partition's ready events, each
   * handed to the handler in its own process span, in scopes of up to maxMs
   * (one store commit each), with one offset commit. If an event does not
   * decode, the batch goes through the per-record path one event at a time;
   * if a call or a scope fails, so do that scope's events and the rest: the
   * scope undid its work, and a poison event meets its retries and its dead
   * letter alone.
   */
  private batchHandler(
    group: string,
    handler: EventHandler,
    onRecord: RecordHandler,
    batch: BatchOptions,
    traced: boolean,
  ): BatchHandler {
    const oneByOne = async (
      records: readonly TransportRecord[],
      controls: ConsumeControls,
    ): Promise<void> => {
      for (const record of records) await onRecord(record, controls);
    };
    return async (records, controls) => {
      if (records.length === 1) return onRecord(records[0]!, controls);
      const decoded: { topic: TopicName; event: AnyEnvelope }[] = [];
      for (const record of records) {
        try {
          decoded.push(this.decode(record));
        } catch {
          return oneByOne(records, controls);
        }
      }
      // Scopes of at most maxMs of handling each: a scope holds the store's write lock until it
      // commits. The offsets wait for the last; a failed scope sends the rest one at a time
      // (the events of scopes already committed come again only if the transport redelivers,
      // and their inbox claims make that harmless).
      const maxMs = batch.maxMs ?? DEFAULT_BATCH_MS;
      for (let next = 0; next < records.length;) {
        const spans: Span[] = [];
        const durations: number[] = [];
        const first = next;
        try {
          await batch.scope(async () => {
            const began = performance.now();
            do {
              const record = records[next]!;
              const { topic, event } = decoded[next]!;
              const { span, context: processContext } = this.processContext(
                record,
                group,
                event,
                traced,
              );
              spans.push(span);
              if (traced) span.setAttribute('leash.delivery.batch', records.length);
              const started = performance.now();
              const delivery = new EventDelivery(topic, record, event, 1, controls);
              try {
                await context.with(processContext, handler, undefined, delivery);
              } catch (error) {
                markFailed(span, error);
                throw error;
              }
              durations.push(performance.now() - started);
              next += 1;
            } while (next < records.length && performance.now() - began < maxMs);
          });
        } catch (error) {
          for (const span of spans) {
            span.addEvent('rolled back with its batch; handled again alone');
            span.end();
          }
          // The scope's effects are gone; each event runs again, alone, with retries and a dead letter.
          if (controls.signal.aborted) throw error;
          return oneByOne(records.slice(first), controls);
        }
        for (const span of spans) span.end();
        for (const [i, duration] of durations.entries()) {
          const labels = { topic: records[first + i]!.topic, group };
          this.metrics.processDuration.observe(labels, duration / 1000);
          this.metrics.processed.inc({ ...labels, outcome: 'ok' });
        }
      }
    };
  }

  /**
   * The per-record path: validate at the edge, run the handler in the producer's
   * trace, retry transient failures, dead-letter the rest. Resolving commits the
   * offset; rejecting (only when the dead-letter send fails, or the partition is
   * lost mid-retry) makes the transport deliver the record again.
   */
  private eventHandler(
    group: string,
    handler: EventHandler,
    retry: RetryPolicy,
    traced: boolean,
  ): RecordHandler {
    return async (record, controls) => {
      let topic: TopicName;
      let event: AnyEnvelope;
      try {
        ({ topic, event } = this.decode(record));
      } catch (error) {
        // Invalid or unknown events never reach the handler, and never block the partition.
        if (traced) {
          const parent = propagation.extract(ROOT_CONTEXT, record.headers);
          const span = this.processSpan(record, group, undefined, parent);
          markFailed(span, error);
          span.end();
        }
        return this.deadLetter(record, group, error, 0);
      }
      const { span, context: processContext } = this.processContext(record, group, event, traced);
      const started = performance.now();
      let outcome = 'ok';
      try {
        if (event.type === 'leash.control.kill.v1' && group.includes('.control.')) {
          this.metrics.kills.inc({ service: group.slice(0, group.indexOf('.')) });
        }
        for (let attempt = 1; ; attempt++) {
          try {
            const delivery = new EventDelivery(topic, record, event, attempt, controls);
            await context.with(processContext, handler, undefined, delivery);
            if (attempt > 1) span.setAttribute('leash.delivery.attempt', attempt);
            return;
          } catch (error) {
            if (!isTransient(error) || attempt >= retry.maxAttempts) {
              outcome = 'dead_letter';
              markFailed(span, error);
              span.setAttribute('leash.delivery.attempt', attempt);
              return await this.deadLetter(record, group, error, attempt);
            }
            span.addEvent('retry', { 'leash.delivery.attempt': attempt });
            const delay = backoffDelayMs(retry, attempt, this.random);
            if (!(await waitBeforeRetry(delay, controls))) {
              outcome = 'retry';
              throw error;
            }
          }
        }
      } catch (error) {
        if (outcome === 'ok') outcome = 'retry';
        markFailed(span, error);
        throw error;
      } finally {
        span.end();
        const labels = { topic: record.topic, group };
        this.metrics.processDuration.observe(labels, (performance.now() - started) / 1000);
        this.metrics.processed.inc({ ...labels, outcome });
      }
    };
  }

  private processSpan(
    record: TransportRecord,
    group: string,
    event: AnyEnvelope | undefined,
    parent: Context,
  ): Span {
    return startProcessSpan({
      system: this.system,
      destination: record.topic,
      group,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      event,
      parent,
    });
  }

  private async deadLetter(
    record: TransportRecord,
    group: string,
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const topic = this.deadLetters.get(record.topic) ?? deadLetterTopic(record.topic);
    await this.transport.send(topic, [toDeadLetterMessage(record, { group, error, attempts })]);
    this.metrics.deadLetters.inc({ topic: record.topic, group });
  }

  ping(): Promise<void> {
    return this.transport.ping();
  }

  async lag(): Promise<readonly ConsumerLag[]> {
    return this.transport.lag ? this.transport.lag() : [];
  }

  async liveMembers(group: string): Promise<number | undefined> {
    this.assertOpen();
    return this.transport.liveMembers?.(group);
  }

  async ranges(topic: TopicName): Promise<readonly PartitionRange[] | undefined> {
    return this.transport.ranges ? this.transport.ranges(this.topicName(topic)) : undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const open = [...this.subscriptions];
      const results = await Promise.allSettled(open.map((subscription) => subscription.close()));
      await this.transport.close();
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`bus of ${this.options.source} is closed`);
  }
}

class BusSubscription implements Subscription {
  private closing: Promise<void> | undefined;

  constructor(
    readonly group: string,
    private readonly consumer: TransportConsumer,
    private readonly registry: Set<BusSubscription>,
  ) {}

  close(): Promise<void> {
    this.closing ??= this.consumer.stop().finally(() => this.registry.delete(this));
    return this.closing;
  }
}
