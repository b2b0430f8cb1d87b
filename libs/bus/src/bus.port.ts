import type { AnyEnvelope, Envelope, EventTypeOn, TopicName, WireMessage } from '@leash/contracts';

/*
 * Two layers. `BusTransport` is what an engine adapter implements (embedded
 * SQLite log, Kafka): raw records, partitions, consumer groups, commits. `Bus`
 * is what services use: typed envelopes keyed by the topic registry,
 * validation at the edge, retries, dead letters and trace context. `createBus`
 * builds the second from the first, so every adapter gets the same semantics.
 */

// ---------------------------------------------------------------- transport

/** A record as an adapter stores it. Offsets are strings, as in Kafka. */
export interface TransportRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  /** Append time, ms since the epoch. */
  readonly timestamp: number;
}

export interface PublishReceipt {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface ConsumeControls {
  /** Tells the group this member is alive during a long handler (kafkajs `heartbeat`). */
  heartbeat(): Promise<void>;
  /** Aborted when the consumer stops without waiting, or loses the partition. */
  readonly signal: AbortSignal;
}

export interface ConsumeSpec {
  readonly group: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. Default: the earliest retained record. */
  readonly fromBeginning?: boolean;
}

/**
 * Called for each record. Contract every adapter keeps:
 * - one partition's records are passed one at a time, in offset order;
 * - different partitions are processed concurrently;
 * - the offset is committed only after the returned promise resolves;
 * - if it rejects, nothing is committed and the same record is passed again.
 */
export type RecordHandler = (record: TransportRecord, controls: ConsumeControls) => Promise<void>;

/**
 * Called with one partition's ready records, in offset order: at least one,
 * at most the consumer's `maxRecords`. The RecordHandler contract holds for
 * the batch as a whole: resolving commits the offset past its last record;
 * rejecting commits nothing, and the records come again from the first.
 */
export type BatchHandler = (
  records: readonly TransportRecord[],
  controls: ConsumeControls,
) => Promise<void>;

export interface TransportConsumer {
  /** Stops fetching, waits for in-flight handlers, commits them, leaves the group. */
  stop(): Promise<void>;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Never delete its records by age (Kafka: retention.ms=-1): its history is state every start reads. */
  readonly keepForever?: boolean;
}

export interface BusTransport {
  /** Adapter name, for logs and span attributes (`messaging.system`). */
  readonly system: string;
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  send(topic: string, messages: readonly WireMessage[]): Promise<PublishReceipt[]>;
  consume(spec: ConsumeSpec, handler: RecordHandler): Promise<TransportConsumer>;
  /** As consume, with each partition's ready records handed over in batches of up to `maxRecords`. */
  consumeBatches(
    spec: ConsumeSpec,
    maxRecords: number,
    handler: BatchHandler,
  ): Promise<TransportConsumer>;
  /** Reports whether the engine is reachable; used by readiness checks. */
  ping(): Promise<void>;
  /**
   * Records each consumer group has not committed yet, per topic and partition
   * (the log's next offset minus the group's). Optional: for the consumer lag
   * metric; an adapter that cannot tell omits it.
   */
  lag?(): Promise<readonly ConsumerLag[]>;
  /**
   * How many members of a consumer group are live now (in any process). Optional:
   * an adapter that cannot tell omits it. The CLI uses it to tell a user that no
   * service consumes the bus it points at, instead of waiting for nothing.
   */
  liveMembers?(group: string): Promise<number>;
  /**
   * The retained range of each partition of a topic. Optional: a consumer
   * that must read a topic's history up to a point (the control channel)
   * asks; an adapter that cannot tell omits it.
   */
  ranges?(topic: string): Promise<readonly PartitionRange[]>;
  close(): Promise<void>;
}

/** One partition's retained log: offsets from `low` (the earliest retained) to `high` (the next written). */
export interface PartitionRange {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

export interface ConsumerLag {
  readonly group: string;
  /** The physical topic name. */
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

// ---------------------------------------------------------------------- bus

export interface PublishOptions {
  /** Extra headers. Trace context (traceparent, tracestate) is added by the bus. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One event handed to a handler, already validated against its schema. */
export interface Delivery<E extends AnyEnvelope = AnyEnvelope> {
  readonly topic: TopicName;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly event: E;
  /** 1 on first delivery, then counts transient retries within this delivery. */
  readonly attempt: number;
  heartbeat(): Promise<void>;
  readonly signal: AbortSignal;
}

export type EventHandler = (delivery: Delivery) => Promise<void>;

export interface RetryPolicy {
  /** Total attempts, first included. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
}

export interface SubscribeOptions {
  readonly retry?: Partial<RetryPolicy>;
  readonly fromBeginning?: boolean;
  /**
   * Default true: each delivery runs in a `process <topic>` span, child of
   * the producer's context. False for a batch consumer, which traces its own
   * processing: one span per batch, linking each message's context
   * (startBatchProcessSpan). The handler then runs outside any span.
   */
  readonly processSpans?: boolean;
  /**
   * A hop that handles a batch in one transaction. Each partition's ready
   * events come in batches of up to `maxEvents`; the handler is still called
   * once per event, in order, but the calls run inside a `scope` (the
   * store's inOneCommit: one transaction, one commit) that takes events for
   * up to `maxMs`, then commits, and the next takes the rest; the batch's
   * offsets are committed once. When a call fails, or a scope does, that
   * scope is undone and the batch's events from its first on go one at a
   * time through the usual path (retries, then the dead-letter topic), so a
   * poison event holds back nothing but itself. Only for handlers whose
   * every effect goes through that store. Without it, events are handled
   * one at a time.
   */
  readonly batch?: BatchOptions;
}

export interface BatchOptions {
  /** At most this many events in one batch (and one offset commit). */
  readonly maxEvents: number;
  /**
   * A scope stops taking the batch's events after this long and commits
   * them; the rest go into the next scope. Bounds how long a batch holds
   * the store's write lock. Default 10 ms.
   */
  readonly maxMs?: number;
  /** Runs a batch's handler calls as one unit of work: `store.inOneCommit`. */
  readonly scope: <R>(work: () => Promise<R>) => Promise<R>;
}

export interface Subscription {
  readonly group: string;
  /** Graceful: drains in-flight handlers and commits them. */
  close(): Promise<void>;
}

/** A message on a dead-letter topic, with why it is there. */
export interface DeadLetter {
  readonly topic: string;
  readonly originalTopic: string;
  readonly originalPartition: number;
  readonly originalOffset: string;
  readonly group: string;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: string;
  /** The original message's headers, unchanged. */
  readonly headers: Readonly<Record<string, string>>;
  readonly key: string;
  readonly value: Buffer;
}

export interface Bus {
  readonly system: string;
  /** The physical name of a logical topic (prefix applied). */
  topicName(topic: TopicName): string;
  publish<T extends TopicName>(
    topic: T,
    envelope: Envelope<EventTypeOn<T>>,
    options?: PublishOptions,
  ): Promise<PublishReceipt>;
  subscribe(
    group: string,
    topics: readonly TopicName[],
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  subscribeDeadLetters(
    group: string,
    topics: readonly TopicName[],
    handler: (letter: DeadLetter) => Promise<void>,
  ): Promise<Subscription>;
  /**
   * Creates the topics (each with its dead-letter topic) where they do not exist,
   * with the bus's partition count. Publish and subscribe do it on first use; a
   * deployment that provisions topics beforehand (a Kubernetes Job, an operator
   * granting services no CREATE) calls it for every topic. Idempotent.
   */
  provision(topics: readonly TopicName[]): Promise<void>;
  /** Sends raw bytes to a topic, bypassing validation: for tests and tools that replay or forge. */
  publishRaw(topic: TopicName, message: WireMessage): Promise<PublishReceipt>;
  ping(): Promise<void>;
  /** Consumer lag per group, topic and partition; empty when the transport cannot tell. */
  lag?(): Promise<readonly ConsumerLag[]>;
  /**
   * How many members of a consumer group (a service's, e.g. `planner`) are live now,
   * in any process; undefined when the transport cannot tell.
   */
  liveMembers(group: string): Promise<number | undefined>;
  /**
   * Each partition's retained range: what a subscriber from the beginning
   * will be delivered, up to `high` as of now. Undefined when the transport
   * cannot tell.
   */
  ranges(topic: TopicName): Promise<readonly PartitionRange[] | undefined>;
  /** Closes every subscription gracefully, then the transport. */
  close(): Promise<void>;
}
