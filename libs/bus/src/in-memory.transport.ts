import type { WireMessage } from '@leash/contracts';
import type {
  BusTransport,
  ConsumeControls,
  ConsumeSpec,
  PartitionRange,
  PublishReceipt,
  BatchHandler,
  RecordHandler,
  TopicSpec,
  TransportConsumer,
  TransportRecord,
} from './bus.port';
import { checkMaxRecords, oneRecordAtATime } from './batches';
import { partitionOf } from './partitioner';

/*
 * An in-process engine with Kafka's semantics, for unit tests of services:
 * topics split into partitions by Kafka's key hash, append-only logs, consumer
 * groups that each see every record, members of a group sharing partitions
 * (rebalanced on join and leave), commit only after the handler resolves,
 * redelivery on reject, graceful drain on stop, and a crash that abandons work
 * uncommitted. Several transports can share one engine, as processes share a
 * cluster. Nothing is retained across engines and nothing is ever deleted.
 */

export interface InMemoryEngineOptions {
  /** Partitions of a topic created implicitly by `send` or `consume`, as Kafka's `num.partitions`. Default 1. */
  readonly defaultPartitions?: number;
  /**
   * How long a partition's new owner waits for the previous owner to drain its
   * in-flight record. After that the previous owner loses the partition: its
   * signal aborts and its result is not committed. Default 10 s.
   */
  readonly rebalanceTimeoutMs?: number;
  /** First wait before a rejected record is delivered again; doubles per failure. Default 10 ms. */
  readonly redeliveryDelayMs?: number;
  /** Cap of that wait. Default 1 s. */
  readonly maxRedeliveryDelayMs?: number;
}

interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly records: TransportRecord[];
  /** Workers idle at the end of this log, woken by the next append. */
  readonly waiters: Set<PartitionWorker>;
}

interface TopicLog {
  readonly name: string;
  readonly partitions: readonly PartitionLog[];
}

const RESOLVED = Promise.resolve();
const heartbeat = (): Promise<void> => RESOLVED;

export class InMemoryEngine {
  readonly options: Required<InMemoryEngineOptions>;
  private readonly topics = new Map<string, TopicLog>();
  private readonly groups = new Map<string, ConsumerGroup>();

  constructor(options: InMemoryEngineOptions = {}) {
    this.options = {
      defaultPartitions: options.defaultPartitions ?? 1,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 10_000,
      redeliveryDelayMs: options.redeliveryDelayMs ?? 10,
      maxRedeliveryDelayMs: options.maxRedeliveryDelayMs ?? 1_000,
    };
  }

  /** Creates a topic unless it exists; an existing topic keeps its partitions, as in Kafka. */
  createTopic(name: string, partitions = this.options.defaultPartitions): void {
    if (this.topics.has(name)) return;
    if (!name) throw new Error('a topic needs a name');
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new RangeError(`${name}: partitions must be a positive integer, got ${partitions}`);
    }
    const logs: PartitionLog[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      logs.push({ topic: name, partition, records: [], waiters: new Set() });
    }
    this.topics.set(name, { name, partitions: logs });
  }

  append(topic: string, messages: readonly WireMessage[]): PublishReceipt[] {
    const log = this.topic(topic);
    const count = log.partitions.length;
    const timestamp = Date.now();
    const receipts: PublishReceipt[] = [];
    const touched = new Set<PartitionLog>();
    for (const message of messages) {
      if (typeof message.key !== 'string') throw new TypeError(`${topic}: a record needs a key`);
      const partition = log.partitions[partitionOf(message.key, count)];
      const offset = String(partition.records.length);
      // Copies and freezes, so neither the producer nor one group's handler can change what another reads.
      partition.records.push(
        Object.freeze({
          topic,
          partition: partition.partition,
          offset,
          key: message.key,
          value: Buffer.from(message.value),
          headers: Object.freeze({ ...message.headers }),
          timestamp,
        }),
      );
      receipts.push({ topic, partition: partition.partition, offset });
      touched.add(partition);
    }
    for (const partition of touched) {
      for (const worker of partition.waiters) worker.notify();
      partition.waiters.clear();
    }
    return receipts;
  }

  /** @internal The log of a topic, created with the default partitions if absent (Kafka's auto-create). */
  topic(name: string): TopicLog {
    let log = this.topics.get(name);
    if (!log) {
      this.createTopic(name);
      log = this.topics.get(name) as TopicLog;
    }
    return log;
  }

  /** @internal */
  group(name: string): ConsumerGroup {
    let group = this.groups.get(name);
    if (!group) {
      group = new ConsumerGroup(name, this);
      this.groups.set(name, group);
    }
    return group;
  }

  // ------------------------------------------------------------ inspection

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  partitionCount(topic: string): number | undefined {
    return this.topics.get(topic)?.partitions.length;
  }

  /** Every record of a topic, partition by partition, each in offset order. */
  records(topic: string): TransportRecord[] {
    return this.topics.get(topic)?.partitions.flatMap((log) => log.records) ?? [];
  }

  /** The group's committed offset of a partition: the next offset it will read, as in Kafka. */
  committedOffset(group: string, topic: string, partition: number): string | undefined {
    const offset = this.groups.get(group)?.committedOf(topic, partition);
    return offset === undefined ? undefined : String(offset);
  }
}

/** One consumer group: committed offsets, members, and which member owns which partition. */
class ConsumerGroup {
  private readonly committed = new Map<PartitionLog, number>();
  /** The worker currently processing a partition: the only one whose commits count. */
  private readonly active = new Map<PartitionLog, PartitionWorker>();
  /** The worker a partition is assigned to: the active one, or one waiting for it to drain. */
  private readonly owners = new Map<PartitionLog, PartitionWorker>();
  private members: GroupMember[] = [];

  constructor(
    readonly name: string,
    private readonly engine: InMemoryEngine,
  ) {}

  get engineOptions(): Required<InMemoryEngineOptions> {
    return this.engine.options;
  }

  get size(): number {
    return this.members.length;
  }

  join(member: GroupMember): void {
    this.members.push(member);
    this.rebalance();
  }

  leave(member: GroupMember): void {
    this.members = this.members.filter((m) => m !== member);
    this.rebalance();
  }

  committedOf(topic: string, partition: number): number | undefined {
    const log = this.engine.topic(topic).partitions[partition];
    return log ? this.committed.get(log) : undefined;
  }

  /** @internal */ position(log: PartitionLog): number | undefined {
    return this.committed.get(log);
  }

  /** @internal */ commit(worker: PartitionWorker, next: number): void {
    if (this.active.get(worker.log) === worker) this.committed.set(worker.log, next);
  }

  /** @internal */ holder(log: PartitionLog): PartitionWorker | undefined {
    return this.active.get(log);
  }

  /** @internal */ activate(worker: PartitionWorker): void {
    const previous = this.active.get(worker.log);
    // The old holder ran out of time to drain: it loses the partition.
    if (previous && previous !== worker) previous.fence();
    this.active.set(worker.log, worker);
  }

  /** @internal */ release(worker: PartitionWorker): void {
    if (this.active.get(worker.log) === worker) this.active.delete(worker.log);
    if (this.owners.get(worker.log) === worker) this.owners.delete(worker.log);
  }

  /**
   * Spreads every partition of the members' topics round-robin over the
   * members subscribed to that topic, in join order. Partitions that change
   * hands are revoked from the old owner, which drains before the new one starts.
   */
  private rebalance(): void {
    const target = new Map<PartitionLog, GroupMember>();
    const topics = [...new Set(this.members.flatMap((m) => [...m.topics]))].sort();
    let turn = 0;
    for (const topic of topics) {
      const eligible = this.members.filter((m) => m.topics.has(topic));
      for (const log of this.engine.topic(topic).partitions) {
        target.set(log, eligible[turn++ % eligible.length]);
      }
    }
    for (const [log, worker] of this.owners) {
      if (target.get(log) !== worker.member) {
        worker.revoke();
        this.owners.delete(log);
      }
    }
    for (const [log, member] of target) {
      if (this.owners.get(log)?.member === member) continue;
      const worker = new PartitionWorker(this, member, log);
      this.owners.set(log, worker);
      member.adopt(worker);
    }
  }
}

/** One member of a group: the consumer a transport's `consume` returns. */
class GroupMember implements TransportConsumer {
  readonly topics: ReadonlySet<string>;
  readonly fromBeginning: boolean;
  private readonly workers = new Set<PartitionWorker>();
  private stopping: Promise<void> | undefined;
  private left = false;

  constructor(
    readonly group: ConsumerGroup,
    spec: ConsumeSpec,
    readonly handler: BatchHandler,
    /** The most records handed to `handler` at once. */
    readonly maxRecords: number,
    private readonly detach: (member: GroupMember) => void,
  ) {
    this.topics = new Set(spec.topics);
    this.fromBeginning = spec.fromBeginning ?? true;
  }

  adopt(worker: PartitionWorker): void {
    this.workers.add(worker);
    void worker.run().finally(() => this.workers.delete(worker));
  }

  /** Graceful: leaving the group revokes every partition; each drains and commits its in-flight record. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const draining = [...this.workers].map((worker) => worker.done);
      this.leave();
      await Promise.all(draining);
    })();
    return this.stopping;
  }

  /** As a dead process: nothing drains, nothing commits, peers take over at once. */
  crash(): void {
    for (const worker of this.workers) worker.fence();
    this.leave();
    this.stopping ??= RESOLVED;
  }

  private leave(): void {
    if (this.left) return;
    this.left = true;
    this.detach(this);
    this.group.leave(this);
  }
}

/** Processes one partition for one member, in order (up to its maxRecords at a time), until revoked or fenced. */
class PartitionWorker {
  private revoked = false;
  private fenced = false;
  private wake: (() => void) | undefined;
  private readonly controller = new AbortController();
  private readonly controls: ConsumeControls;
  private settle!: () => void;
  /** Settles when this worker no longer touches the partition (drained, or fenced). */
  readonly released = new Promise<void>((resolve) => (this.settle = resolve));
  private finished!: () => void;
  /** Settles when the loop has exited, handler included, even if fenced earlier. */
  readonly done = new Promise<void>((resolve) => (this.finished = resolve));

  constructor(
    private readonly group: ConsumerGroup,
    readonly member: GroupMember,
    readonly log: PartitionLog,
  ) {
    this.controls = { heartbeat, signal: this.controller.signal };
  }

  /** Stop after the in-flight record; it still commits. */
  revoke(): void {
    this.revoked = true;
    this.notify();
  }

  /** Lose the partition now: abort the handler's signal and ignore its outcome. */
  fence(): void {
    if (this.fenced) return;
    this.fenced = true;
    this.revoked = true;
    this.controller.abort(new Error(`${this.log.topic}[${this.log.partition}] was reassigned`));
    this.notify();
    this.release();
  }

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async run(): Promise<void> {
    try {
      await this.takeOver();
      if (!this.revoked) await this.consume();
    } catch {
      // Only a bug can land here; the partition is released below so a peer can take it.
    } finally {
      this.log.waiters.delete(this);
      this.release();
      this.finished();
    }
  }

  /** Waits for the previous holder to drain, fencing it when it takes longer than the rebalance timeout. */
  private async takeOver(): Promise<void> {
    const { rebalanceTimeoutMs } = this.group.engineOptions;
    for (;;) {
      const holder = this.group.holder(this.log);
      if (!holder || holder === this || this.revoked) break;
      const outcome = await new Promise<'released' | 'timeout' | 'revoked'>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), rebalanceTimeoutMs);
        const settle = (how: 'released' | 'revoked') => {
          clearTimeout(timer);
          resolve(how);
        };
        void holder.released.then(() => settle('released'));
        this.wake = () => settle('revoked');
      });
      this.wake = undefined;
      if (outcome === 'timeout' && !this.revoked) holder.fence();
    }
    if (!this.revoked) this.group.activate(this);
  }

  private async consume(): Promise<void> {
    const { records } = this.log;
    let next = this.group.position(this.log);
    if (next === undefined) {
      // Pin where the group starts, so a later owner of this partition starts there too.
      next = this.member.fromBeginning ? 0 : records.length;
      this.group.commit(this, next);
    }
    let failures = 0;
    while (!this.revoked) {
      if (next >= records.length) {
        this.log.waiters.add(this);
        await this.idle();
        continue;
      }
      const taken = records.slice(next, next + this.member.maxRecords);
      try {
        await this.member.handler(taken, this.controls);
      } catch {
        if (this.fenced) return;
        // Not committed: the same record comes again, after a pause so a broken handler does not spin.
        failures++;
        await this.idle(this.redeliveryDelay(failures));
        continue;
      }
      if (this.fenced) return;
      failures = 0;
      next += taken.length;
      this.group.commit(this, next);
    }
  }

  private redeliveryDelay(failures: number): number {
    const { redeliveryDelayMs, maxRedeliveryDelayMs } = this.group.engineOptions;
    return Math.min(maxRedeliveryDelayMs, redeliveryDelayMs * 2 ** Math.min(failures - 1, 30));
  }

  /** Resolves on the next append, revoke or fence, or after `ms` when given. */
  private idle(ms?: number): Promise<void> {
    if (this.revoked) return RESOLVED;
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(() => this.notify(), ms);
    });
  }

  private release(): void {
    this.group.release(this);
    this.settle();
  }
}

export class InMemoryTransport implements BusTransport {
  readonly system = 'in-memory';
  private readonly members = new Set<GroupMember>();
  private state: 'open' | 'closed' | 'crashed' = 'open';
  private closing: Promise<void> | undefined;

  /** A transport on a fresh engine of its own. */
  constructor(readonly engine: InMemoryEngine = new InMemoryEngine()) {}

  /** Another transport on an existing engine, as another process on the same cluster. */
  static shared(engine: InMemoryEngine): InMemoryTransport {
    return new InMemoryTransport(engine);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const topic of topics) this.engine.createTopic(topic.name, topic.partitions);
  }

  async send(topic: string, messages: readonly WireMessage[]): Promise<PublishReceipt[]> {
    this.assertOpen();
    return this.engine.append(topic, messages);
  }

  consume(spec: ConsumeSpec, handler: RecordHandler): Promise<TransportConsumer> {
    return this.consumeBatches(spec, 1, oneRecordAtATime(handler));
  }

  async consumeBatches(
    spec: ConsumeSpec,
    maxRecords: number,
    handler: BatchHandler,
  ): Promise<TransportConsumer> {
    this.assertOpen();
    if (!spec.group) throw new Error('a consumer group name is required');
    if (spec.topics.length === 0) throw new Error(`${spec.group}: consume at least one topic`);
    checkMaxRecords(maxRecords);
    for (const topic of spec.topics) this.engine.topic(topic);
    const member = new GroupMember(this.engine.group(spec.group), spec, handler, maxRecords, (m) =>
      this.members.delete(m),
    );
    this.members.add(member);
    member.group.join(member);
    return member;
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async liveMembers(group: string): Promise<number> {
    return this.engine.group(group).size;
  }

  async ranges(topic: string): Promise<readonly PartitionRange[]> {
    this.assertOpen();
    return this.engine.topic(topic).partitions.map((log) => ({
      partition: log.partition,
      low: '0',
      high: String(log.records.length),
    }));
  }

  /** Stops every consumer of this transport gracefully (drain and commit). Idempotent. */
  close(): Promise<void> {
    if (this.state === 'crashed') return RESOLVED;
    this.state = 'closed';
    this.closing ??= Promise.all([...this.members].map((member) => member.stop())).then(
      () => undefined,
    );
    return this.closing;
  }

  /**
   * Abandons this transport as a killed process would: in-flight handlers are
   * aborted and whatever they do next is ignored, nothing is committed, and
   * the group hands their partitions to peers at once.
   */
  crash(): void {
    if (this.state === 'crashed') return;
    this.state = 'crashed';
    for (const member of [...this.members]) member.crash();
    this.members.clear();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`in-memory transport is ${this.state}`);
  }
}
