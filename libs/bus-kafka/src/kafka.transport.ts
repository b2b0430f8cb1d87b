import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer,
  type ConsumerRunConfig,
  type EachBatchPayload,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import {
  checkMaxRecords,
  oneRecordAtATime,
  partitionOf,
  type BusTransport,
  type ConsumeControls,
  type ConsumeSpec,
  type ConsumerLag,
  type PartitionRange,
  type PublishReceipt,
  type BatchHandler,
  type RecordHandler,
  type TopicSpec,
  type TransportConsumer,
  type TransportRecord,
} from '@leash/bus';
import type { WireMessage } from '@leash/contracts';
import { kafkaClientConfig, type KafkaConnection } from './kafka-connection';
import { isNotRunning, isSettling, needsNewProducer } from './kafka-errors';
import { TopicProvisioner, type TopicShortfall } from './topic-provisioner';

/** Where the adapter reports what an operator should see; defaults to the console. */
export interface KafkaTransportLog {
  warn(message: string): void;
}

export interface KafkaTransportOptions extends KafkaConnection {
  /** Replication factor of the topics it creates; -1 (default) takes the broker's default. */
  readonly replicationFactor?: number;
  /** kafkajs group session timeout (ms). Default 30 s; a crashed member is noticed after it. */
  readonly sessionTimeoutMs?: number;
  /** How long a rebalance waits for members to rejoin (ms). Default 60 s. */
  readonly rebalanceTimeoutMs?: number;
  /** How long `consume` waits for the group to assign partitions (ms). Default 60 s. */
  readonly joinTimeoutMs?: number;
  /**
   * Put before every consumer group's name (Leash passes LEASH_TOPIC_PREFIX). Deployments
   * that share a cluster under different topic prefixes then share no group: kafkajs's
   * assigners hand a group's partitions of every topic any member subscribed to across
   * all members, so a shared `planner` group would let one deployment's planners take
   * the other's partitions.
   */
  readonly groupPrefix?: string;
  readonly log?: KafkaTransportLog;
}

/** A commit refused this many times across rebalances is given up: its records come again. */
const MAX_COMMIT_ATTEMPTS = 10;

/** Records per produce request at most. */
const MAX_BATCH = 1_000;

interface PendingSend {
  readonly topic: string;
  readonly partition: number;
  readonly message: WireMessage;
  resolve(receipt: PublishReceipt): void;
  reject(error: unknown): void;
}

const CONSOLE_LOG: KafkaTransportLog = { warn: (message) => console.warn(message) };

/**
 * The bus transport on Apache Kafka through kafkajs.
 *
 * Producer: idempotent, acks -1, one request in flight (order per key holds through
 * retries); the CloudEvents attributes the bus encodes travel as headers (binary mode).
 *
 * Consumer: kafkajs fetches from one broker in rounds and starts the next round only
 * when every batch of the last one was handled, so one slow handler would hold up
 * every partition. Here kafkajs only fetches: each batch goes into its partition's
 * lane and the partition is paused until its lane drains. A lane runs its records one
 * at a time; an offset is committed only after its record's handler resolved (no
 * auto-commit), the finished offsets of every partition together in one request.
 * kafkajs's fetch loop never waits on a handler, so it keeps heartbeating through a
 * long one. On a rebalance, records not started are dropped (the next owner fetches
 * them from the committed offset); a running handler finishes, and its offset is
 * committed only if this member still holds the partition after the rebalance, never
 * past a record whose handler did not finish.
 */
export class KafkaTransport implements BusTransport {
  readonly system = 'kafka';
  private readonly kafka: Kafka;
  private readonly log: KafkaTransportLog;
  private readonly provisioner: TopicProvisioner;
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private producer: Promise<Producer> | undefined;
  private readonly outbox: PendingSend[] = [];
  private flushing: Promise<void> | undefined;
  private readonly partitionCounts = new Map<string, Promise<number>>();
  private admin: Promise<Admin> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: KafkaTransportOptions) {
    this.log = options.log ?? CONSOLE_LOG;
    this.kafka = new Kafka({
      ...kafkaClientConfig(options),
      logLevel: KafkaLogLevel.NOTHING,
      retry: { initialRetryTime: 100, retries: 8 },
    });
    this.provisioner = new TopicProvisioner(() => this.connectedAdmin(), {
      replicationFactor: options.replicationFactor ?? -1,
      onShortfall: (shortfall: TopicShortfall) =>
        this.log.warn(
          `kafka: topic ${shortfall.topic} has ${shortfall.partitions} partitions, fewer than the ${shortfall.configured} configured; ` +
            'consumers of one group can use no more than that; add partitions with kafka-topics --alter',
        ),
    });
  }

  ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    return this.provisioner.ensure(topics);
  }

  /**
   * Sends that arrive while a request is in flight wait and go together in the next one
   * (kafkajs does not batch concurrent sends by itself, and one request in flight keeps
   * order per key). Each record's partition is computed here with Kafka's default
   * partitioner, so each gets its own offset back.
   */
  async send(topic: string, messages: readonly WireMessage[]): Promise<PublishReceipt[]> {
    this.assertOpen();
    const partitions = await this.partitionCount(topic);
    return Promise.all(
      messages.map(
        (message) =>
          new Promise<PublishReceipt>((resolve, reject) => {
            const partition = partitionOf(message.key, partitions);
            this.outbox.push({ topic, partition, message, resolve, reject });
            if (!this.flushing) this.flushing = this.flush();
          }),
      ),
    );
  }

  private async flush(): Promise<void> {
    try {
      const producer = await this.connectedProducer().catch((error: unknown) => {
        for (const pending of this.outbox.splice(0)) pending.reject(error);
        return undefined;
      });
      while (producer && this.outbox.length > 0) {
        const batch = this.outbox.splice(0, MAX_BATCH);
        const byTopic = new Map<string, PendingSend[]>();
        for (const pending of batch) {
          const list = byTopic.get(pending.topic) ?? [];
          list.push(pending);
          byTopic.set(pending.topic, list);
        }
        try {
          const metadata = await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, list]) => ({
              topic,
              messages: list.map(({ partition, message }) => ({
                partition,
                key: message.key,
                value: message.value,
                headers: { ...message.headers },
              })),
            })),
          });
          // Within a partition the records got consecutive offsets from its base, in order.
          const next = new Map<string, bigint>();
          for (const m of metadata) {
            next.set(`${m.topicName}\u0000${m.partition}`, BigInt(m.baseOffset ?? '-1'));
          }
          for (const pending of batch) {
            const key = `${pending.topic}\u0000${pending.partition}`;
            const offset = next.get(key) ?? -1n;
            if (offset >= 0n) next.set(key, offset + 1n);
            pending.resolve({
              topic: pending.topic,
              partition: pending.partition,
              offset: String(offset),
            });
          }
        } catch (error) {
          for (const pending of batch) pending.reject(error);
          // The broker and this producer disagree on its sequence numbers for good: start a
          // new one. Senders retry (the outbox relay, in order per key); consumers dedupe.
          if (needsNewProducer(error)) {
            this.log.warn(`kafka: the producer is replaced after: ${String(error)}`);
            this.replaceProducer(producer);
            break;
          }
        }
      }
    } finally {
      this.flushing = undefined;
      // A send that arrived after the loop's last look goes out now.
      if (this.outbox.length > 0) this.flushing = this.flush();
    }
  }

  /** Partitions of a topic, as the broker has them; cached (topics only grow). */
  private partitionCount(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (!count) {
      count = (async () => {
        const admin = await this.connectedAdmin();
        const metadata = await retryWhileMoving(() =>
          admin.fetchTopicMetadata({ topics: [topic] }),
        );
        const found = metadata.topics.find((t) => t.name === topic);
        if (!found || found.partitions.length === 0) throw new Error(`kafka: no topic ${topic}`);
        return found.partitions.length;
      })();
      count.catch(() => this.partitionCounts.delete(topic));
      this.partitionCounts.set(topic, count);
    }
    return count;
  }

  consume(given: ConsumeSpec, handler: RecordHandler): Promise<TransportConsumer> {
    return this.consumeBatches(given, 1, oneRecordAtATime(handler));
  }

  async consumeBatches(
    given: ConsumeSpec,
    maxRecords: number,
    handler: BatchHandler,
  ): Promise<TransportConsumer> {
    this.assertOpen();
    checkMaxRecords(maxRecords);
    const spec = { ...given, group: this.groupName(given.group) };
    const consumer = new KafkaGroupConsumer(
      this.kafka.consumer({
        groupId: spec.group,
        sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
        rebalanceTimeout: this.options.rebalanceTimeoutMs ?? 60_000,
        heartbeatInterval: Math.max(
          500,
          Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 10),
        ),
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 500,
        retry: { initialRetryTime: 100, retries: 8 },
      }),
      spec,
      handler,
      maxRecords,
      this.log,
      () => this.connectedAdmin(),
      () => this.consumers.delete(consumer),
    );
    this.consumers.add(consumer);
    try {
      await consumer.start(this.options.joinTimeoutMs ?? 60_000);
    } catch (error) {
      await consumer.abandon();
      throw error;
    }
    return consumer;
  }

  /** The group's name on the cluster. */
  private groupName(group: string): string {
    return `${this.options.groupPrefix ?? ''}${group}`;
  }

  async ping(): Promise<void> {
    const admin = await this.connectedAdmin();
    await admin.describeCluster();
  }

  async ranges(topic: string): Promise<readonly PartitionRange[]> {
    const admin = await this.connectedAdmin();
    const offsets = await retryWhileMoving(() => admin.fetchTopicOffsets(topic));
    return offsets
      .map(({ partition, low, high }) => ({ partition, low, high }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** The group's members as its coordinator knows them (none once the last one left or timed out). */
  async liveMembers(group: string): Promise<number> {
    this.assertOpen();
    const admin = await this.connectedAdmin();
    const { groups } = await retryWhileMoving(() => admin.describeGroups([this.groupName(group)]));
    return groups[0]?.members.length ?? 0;
  }

  async lag(): Promise<readonly ConsumerLag[]> {
    const admin = await this.connectedAdmin();
    const lags: ConsumerLag[] = [];
    for (const consumer of this.consumers) {
      const { group, topics } = consumer.spec;
      const committed = await admin.fetchOffsets({ groupId: group, topics: [...topics] });
      for (const { topic, partitions } of committed) {
        const ends = await admin.fetchTopicOffsets(topic);
        for (const { partition, offset } of partitions) {
          const end = ends.find((e) => e.partition === partition);
          if (!end) continue;
          const start = Number(offset) < 0 ? Number(end.low) : Number(offset);
          lags.push({ group, topic, partition, lag: Math.max(0, Number(end.high) - start) });
        }
      }
    }
    return lags;
  }

  /** Graceful: every consumer drains and commits, then the producer and admin disconnect. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.consumers].map((consumer) => consumer.stop()));
      // Sends already accepted go out before the producer disconnects.
      while (this.flushing) await this.flushing;
      await this.disconnectClients();
    })();
    return this.closing;
  }

  /**
   * As a crash would: running handlers are left behind, nothing more is committed,
   * and the group is left so peers take the partitions at once. For tests.
   */
  async abandon(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.consumers].map((consumer) => consumer.abandon()));
      await this.disconnectClients();
    })();
    return this.closing;
  }

  private async disconnectClients(): Promise<void> {
    const clients = await Promise.allSettled([this.producer, this.admin]);
    await Promise.allSettled(
      clients.map((c) => (c.status === 'fulfilled' && c.value ? c.value.disconnect() : undefined)),
    );
  }

  /** Forgets the producer (the next send connects a new one) and disconnects it. */
  private replaceProducer(stale: Producer): void {
    this.producer = undefined;
    void stale.disconnect().catch(() => undefined);
  }

  private connectedProducer(): Promise<Producer> {
    this.producer ??= connect(
      this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      }),
      () => (this.producer = undefined),
    );
    return this.producer;
  }

  private connectedAdmin(): Promise<Admin> {
    this.admin ??= connect(this.kafka.admin(), () => (this.admin = undefined));
    return this.admin;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('the kafka transport is closed');
  }
}

/** Connects once; a failed connection is forgotten so the next call tries again. */
async function connect<C extends { connect(): Promise<void> }>(
  client: C,
  forget: () => void,
): Promise<C> {
  try {
    await client.connect();
    return client;
  } catch (error) {
    forget();
    throw error;
  }
}

/** One partition's queue of fetched records, handled one at a time. */
interface Lane {
  readonly topic: string;
  readonly partition: number;
  readonly queue: KafkaMessage[];
  /** The next offset this member has not yet taken (handled, running or queued). */
  next: bigint;
  running: Promise<void> | undefined;
  /** The last offset of the records whose handler runs now, if any. */
  current: bigint | undefined;
  /** Aborted when this member abandons the partition (crash), so retries stop waiting. */
  readonly abort: AbortController;
}

class CrashedError extends Error {}

class KafkaGroupConsumer implements TransportConsumer {
  private readonly lanes = new Map<string, Lane>();
  private readonly toCommit = new Map<
    string,
    { topic: string; partition: number; offset: string }
  >();
  private committing: Promise<void> | undefined;
  private assigned = new Set<string>();
  private stopping: Promise<void> | undefined;
  private crashed = false;
  private readonly crash = new AbortController();
  /** From the latest offset: where each partition without a committed offset starts (the log end at subscribe). */
  private startAt = new Map<string, { topic: string; partition: number; offset: string }>();
  private joined: (() => void) | undefined;
  private nextJoin: Promise<void>;
  /** Restarts after crashes kafkajs would not restart from, since the last join. */
  private restarts = 0;
  private readonly runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    // kafkajs only hands batches over here; lanes run them, so one worker is enough.
    partitionsConsumedConcurrently: 1,
    eachBatch: (payload) => this.take(payload),
  };
  private onJoin: () => void = () => undefined;

  constructor(
    private readonly consumer: Consumer,
    readonly spec: ConsumeSpec,
    private readonly handler: BatchHandler,
    private readonly maxRecords: number,
    private readonly log: KafkaTransportLog,
    private readonly admin: () => Promise<Admin>,
    private readonly forget: () => void,
  ) {
    this.nextJoin = this.joinPromise();
  }

  private joinPromise(): Promise<void> {
    return new Promise((resolve) => (this.onJoin = resolve));
  }

  /** Resolves once the group has assigned this member its partitions (possibly none). */
  async start(joinTimeoutMs: number): Promise<void> {
    const { consumer } = this;
    const firstJoin = new Promise<void>((resolve) => (this.joined = resolve));
    if (this.spec.fromBeginning === false) await this.findLogEnds();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set<string>();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const key = laneKey(topic, partition);
          assigned.add(key);
          // kafkajs would look up "latest" lazily, at its first fetch, after subscribe()
          // resolved: records published in between would be skipped. Pin it to before.
          const start = this.startAt.get(key);
          if (start) consumer.seek({ topic, partition, offset: start.offset });
        }
      }
      this.assigned = assigned;
      this.restarts = 0;
      this.rejoined();
      this.joined?.();
      const resolveJoin = this.onJoin;
      this.nextJoin = this.joinPromise();
      resolveJoin();
    });
    consumer.on(consumer.events.REBALANCING, () => this.rebalancing());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopping || this.crashed) return;
      // kafkajs gives up on some errors (and, under load, on a broker away longer than its
      // retries: tulios/kafkajs#1299). A service's consumer never stays down: run it again.
      const wait = Math.min(30_000, 500 * 2 ** Math.min(this.restarts++, 6));
      this.log.warn(
        `kafka: consumer of group ${this.spec.group} stopped: ${payload.error.message}; starting it again in ${wait} ms`,
      );
      setTimeout(() => {
        if (this.stopping || this.crashed) return;
        this.consumer
          .run(this.runConfig)
          .catch((error: unknown) =>
            this.log.warn(`kafka: group ${this.spec.group} did not start again: ${String(error)}`),
          );
      }, wait).unref();
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [...this.spec.topics],
      fromBeginning: this.spec.fromBeginning ?? true,
    });
    await consumer.run(this.runConfig);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `kafka: group ${this.spec.group} assigned no partitions within ${joinTimeoutMs} ms`,
            ),
          ),
        joinTimeoutMs,
      );
    });
    try {
      await Promise.race([firstJoin, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (this.startAt.size > 0) {
      // Commit those starting points, so members that get the other partitions later start there too.
      await consumer.commitOffsets([...this.startAt.values()]);
      this.startAt.clear();
    }
  }

  private async findLogEnds(): Promise<void> {
    const admin = await this.admin();
    const committed = await retryWhileMoving(() =>
      admin.fetchOffsets({ groupId: this.spec.group, topics: [...this.spec.topics] }),
    );
    for (const { topic, partitions } of committed) {
      const uncommitted = partitions.filter((p) => Number(p.offset) < 0);
      if (uncommitted.length === 0) continue;
      const ends = await retryWhileMoving(() => admin.fetchTopicOffsets(topic));
      for (const { partition } of uncommitted) {
        const end = ends.find((e) => e.partition === partition);
        if (end)
          this.startAt.set(laneKey(topic, partition), { topic, partition, offset: end.high });
      }
    }
  }

  /** A fetched batch: queue it on its lane, pause the partition until the lane drains. */
  private async take({ batch, resolveOffset }: EachBatchPayload): Promise<void> {
    if (this.stopping || this.crashed) return;
    const key = laneKey(batch.topic, batch.partition);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = {
        topic: batch.topic,
        partition: batch.partition,
        queue: [],
        next: -1n,
        running: undefined,
        current: undefined,
        abort: new AbortController(),
      };
      this.lanes.set(key, lane);
    }
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      // Records this member already took (handled or running) come again after a rebalance.
      if (lane.next >= 0n && offset < lane.next) continue;
      lane.queue.push(message);
      lane.next = offset + 1n;
    }
    if (batch.messages.length > 0) {
      resolveOffset(batch.messages[batch.messages.length - 1].offset);
    }
    if (lane.queue.length > 0) {
      this.whileGrouped(() =>
        this.consumer.pause([{ topic: lane.topic, partitions: [lane.partition] }]),
      );
      // A lane's failure is logged, never left unhandled (that would end the process).
      lane.running ??= this.drain(lane).catch((error: unknown) =>
        this.log.warn(
          `kafka: ${lane!.topic}[${lane!.partition}] in group ${this.spec.group} stopped: ${String(error)}`,
        ),
      );
    }
  }

  private async drain(lane: Lane): Promise<void> {
    try {
      while (lane.queue.length > 0) {
        const messages = lane.queue.splice(0, this.maxRecords);
        lane.current = BigInt(messages[messages.length - 1]!.offset);
        await this.handleUntilDone(lane, messages);
        if (this.crashed) return;
      }
    } finally {
      lane.running = undefined;
      lane.current = undefined;
      if (!this.stopping && !this.crashed) {
        this.whileGrouped(() =>
          this.consumer.resume([{ topic: lane.topic, partitions: [lane.partition] }]),
        );
      }
    }
  }

  /** Runs the handler, again after a rejection (same records, as the port requires), then commits. */
  private async handleUntilDone(lane: Lane, messages: readonly KafkaMessage[]): Promise<void> {
    const records = messages.map((message) => toRecord(lane.topic, lane.partition, message));
    const last = records[records.length - 1]!;
    const controls: ConsumeControls = {
      // kafkajs's fetch loop never waits on a handler here, so it heartbeats on its own.
      heartbeat: async () => undefined,
      signal: lane.abort.signal,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.unlessCrashed(this.handler(records, controls));
        break;
      } catch (error) {
        if (this.crashed) return;
        if (!this.holds(lane)) {
          // The partition moved during the handler; its next owner starts from the committed offset.
          lane.next = -1n;
          return;
        }
        this.log.warn(
          `kafka: ${lane.topic}[${lane.partition}]@${records[0]!.offset}` +
            (records.length > 1 ? ` (a batch of ${records.length})` : '') +
            ` in group ${this.spec.group} failed, retrying: ${String(error)}`,
        );
        await delay(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
    this.commitLater(lane, last.offset);
  }

  /**
   * Queues the offset after a finished record for the next commit request: one request in
   * flight per consumer, carrying every partition's latest finished offset. Only finished
   * records are queued, so no commit passes a handler that did not finish.
   */
  private commitLater(lane: Lane, offset: string): void {
    const key = laneKey(lane.topic, lane.partition);
    const next = (BigInt(offset) + 1n).toString();
    this.toCommit.set(key, { topic: lane.topic, partition: lane.partition, offset: next });
    this.flush();
  }

  /**
   * Starts a commit round unless one runs. `committing` is cleared in a callback, never
   * inside the round: a round that ends at once (no partition held any more) would clear
   * it before it was set, leaving a settled promise that blocks every later round and
   * makes stop()'s wait for it spin.
   */
  private flush(): void {
    if (this.committing) return;
    const round: Promise<void> = this.flushCommits()
      .catch((error: unknown) =>
        this.log.warn(`kafka: commit in group ${this.spec.group} failed: ${String(error)}`),
      )
      .finally(() => {
        if (this.committing === round) this.committing = undefined;
        if (this.toCommit.size > 0 && !this.crashed) this.flush();
      });
    this.committing = round;
  }

  private async flushCommits(): Promise<void> {
    while (this.toCommit.size > 0 && !this.crashed) {
      const batch = [...this.toCommit.values()];
      this.toCommit.clear();
      for (let attempt = 1; ; attempt++) {
        // A partition that moved in a rebalance is its new owner's to commit.
        const held = batch.filter((c) => this.assigned.has(laneKey(c.topic, c.partition)));
        if (held.length === 0 || this.crashed) break;
        try {
          await this.consumer.commitOffsets(held);
          break;
        } catch (error) {
          if (!(isRebalanceError(error) || isNotRunning(error)) || attempt >= MAX_COMMIT_ATTEMPTS) {
            // Not committed: those records come again (at least once); handlers are idempotent.
            this.log.warn(`kafka: commit in group ${this.spec.group} failed: ${String(error)}`);
            break;
          }
          // Mid-rebalance the coordinator refuses commits, and a consumer restarting after a
          // crash has no group: wait for the next assignment.
          await Promise.race([this.nextJoin, delay(1_000)]);
        }
      }
    }
  }

  /**
   * Pauses and resumes throw while kafkajs restarts the consumer after a crash (it has
   * no group then). Nothing is lost by skipping them: the restarted group starts
   * unpaused, and each lane skips the records it already took.
   */
  private whileGrouped(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!isNotRunning(error)) throw error;
    }
  }

  private holds(lane: Lane): boolean {
    return this.assigned.has(laneKey(lane.topic, lane.partition));
  }

  /**
   * Records not started are dropped: whoever owns the partition after the rebalance
   * fetches them again from the committed offset. A running handler goes on; only its
   * own record is skipped if it is fetched again here.
   */
  private rebalancing(): void {
    for (const lane of this.lanes.values()) {
      lane.queue.length = 0;
      lane.next = lane.current !== undefined ? lane.current + 1n : -1n;
    }
  }

  private rejoined(): void {
    this.rebalancing();
    for (const [key, lane] of this.lanes) {
      if (!lane.running && !this.assigned.has(key)) this.lanes.delete(key);
    }
  }

  private unlessCrashed<T>(work: Promise<T>): Promise<T> {
    if (this.crashed) return Promise.reject(new CrashedError());
    return new Promise<T>((resolve, reject) => {
      const onCrash = () => reject(new CrashedError());
      this.crash.signal.addEventListener('abort', onCrash, { once: true });
      work
        .then(resolve, reject)
        .finally(() => this.crash.signal.removeEventListener('abort', onCrash));
    });
  }

  /** Stops fetching, lets running handlers finish and commit, then leaves the group. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.whileGrouped(() => this.consumer.pause(this.spec.topics.map((topic) => ({ topic }))));
      for (const lane of this.lanes.values()) lane.queue.length = 0;
      await Promise.allSettled([...this.lanes.values()].map((lane) => lane.running));
      while (this.committing) await this.committing;
      await this.consumer.disconnect();
      this.forget();
    })();
    return this.stopping;
  }

  async abandon(): Promise<void> {
    this.crashed = true;
    this.crash.abort();
    for (const lane of this.lanes.values()) {
      lane.queue.length = 0;
      lane.abort.abort();
    }
    this.stopping ??= (async () => {
      await this.consumer.disconnect().catch(() => undefined);
      this.forget();
    })();
    return this.stopping;
  }
}

function laneKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function toRecord(topic: string, partition: number, message: KafkaMessage): TransportRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? String(value[value.length - 1]) : value.toString();
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString('utf8') ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers,
    timestamp: Number(message.timestamp),
  };
}

function isRebalanceError(error: unknown): boolean {
  const type = (error as { type?: string }).type;
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'ILLEGAL_GENERATION' ||
    type === 'UNKNOWN_MEMBER_ID' ||
    type === 'NOT_COORDINATOR_FOR_GROUP'
  );
}

/** Retries a request while what it needs settles (isSettling), for up to 30 s. */
async function retryWhileMoving<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const wait = 100 * Math.min(attempt, 5);
      if (!isSettling(error) || Date.now() + wait > deadline) throw error;
      await delay(wait);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
