import { watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import {
  checkMaxRecords,
  oneRecordAtATime,
  partitionOf,
  type BusTransport,
  type ConsumerLag,
  type PartitionRange,
  type ConsumeSpec,
  type PublishReceipt,
  type BatchHandler,
  type RecordHandler,
  type TopicSpec,
  type TransportConsumer,
} from '@leash/bus';
import type { WireMessage } from '@leash/contracts';
import {
  startWalCheckpointer,
  type FileChannelMembership,
  type WalCheckpointer,
} from '@leash/sqlite-wal';
import { GroupMember, partitionKey, type MemberHost, type PartitionWorker } from './group-member';
import { SqliteLog, type MessageRow, type TopicRow } from './sqlite-log';
import { joinThreadPeers, type ThreadNotice } from './thread-notices';

export interface SqliteRetentionOptions {
  /** Delete records older than this. Default 7 days (Kafka's default); null keeps them. */
  readonly maxAgeMs?: number | null;
  /** Keep at most this many records per partition. Default null (no count limit). */
  readonly maxMessagesPerPartition?: number | null;
  /** How often retention runs. Default 60 s. */
  readonly checkIntervalMs?: number;
}

export interface SqliteTransportOptions {
  /** The bus file. Processes that open the same file share one bus. */
  readonly filename: string;
  /** Partitions of a topic created without a count (auto-created). Default 8. */
  readonly defaultPartitions?: number;
  /** Create unknown topics on first send or consume, as Kafka's broker default does. Default true. */
  readonly autoCreateTopics?: boolean;
  /** How long a write waits for another process's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * How often the file is checked for other processes' writes (PRAGMA data_version)
   * while they write. Default 5 ms.
   */
  readonly pollIntervalMs?: number;
  /**
   * The check slows down to this while nothing changes, and comes back to
   * `pollIntervalMs` at the first change or local write: an idle process costs
   * little, and a busy one notices others quickly. Default 50 ms.
   */
  readonly idlePollIntervalMs?: number;
  /**
   * Watch the file's write-ahead log (inotify and the like, through fs.watch):
   * a write by another process then brings the check within `pollIntervalMs`,
   * and while nothing changes the check slows down to
   * `watchedIdlePollIntervalMs` instead, a safety net for a change the watch
   * missed. Where the watch cannot be set up, polling alone does the work, as
   * with false. Default true.
   */
  readonly watchFile?: boolean;
  /** The slowest the check gets while the log is watched. Default 1000 ms. */
  readonly watchedIdlePollIntervalMs?: number;
  /**
   * How often a worker thread checkpoints the WAL into the database, so the
   * fsync that comes with it never blocks the event loop. Default 250 ms.
   * 0: leave it to SQLite's automatic checkpoint on this thread (simpler,
   * but each one stalls handlers and publishes for milliseconds).
   */
  readonly checkpointIntervalMs?: number;
  /** Records read per partition per fetch. Default 256. */
  readonly fetchBatchSize?: number;
  /** How often a member renews its session and leases and re-checks the group. Default 1000 ms. */
  readonly heartbeatIntervalMs?: number;
  /**
   * The heartbeat's pace while no member of another process is live on the
   * file (as of the last beat): there is then no one to evict or be evicted
   * by, so renewing the sessions a few times per `sessionTimeoutMs` is enough.
   * A write by another process brings the next beat within
   * `heartbeatIntervalMs`. Default a quarter of `sessionTimeoutMs`, at least
   * `heartbeatIntervalMs`.
   */
  readonly aloneHeartbeatIntervalMs?: number;
  /** A member silent this long is evicted and its leases are free. Default 10000 ms. */
  readonly sessionTimeoutMs?: number;
  /** First delay before a rejected record is passed again; doubles each time. Default 100 ms. */
  readonly retryBackoffMs?: number;
  /** Cap of that delay. Default 2000 ms. */
  readonly retryBackoffMaxMs?: number;
  /** stop() waits this long for an in-flight handler before aborting its signal. Default 30000 ms. */
  readonly drainTimeoutMs?: number;
  readonly retention?: SqliteRetentionOptions;
  /** Told about handler failures and background errors. Default: ignored. */
  readonly onError?: (error: unknown, context: string) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** With the worker checkpointing, SQLite's own checkpoint is only a safety net: 40 MB of WAL. */
const SAFETY_NET_CHECKPOINT_PAGES = 10_000;
/** Deleting in chunks keeps each retention transaction (and event-loop stall) short. */
const RETENTION_CHUNK = 5_000;
/**
 * Records this process appended last, per partition, kept in memory so its
 * own consumers (the common case in one process) read them without a query.
 */
const TAIL_RECORDS = 64;

interface PendingSend {
  readonly topic: string;
  readonly messages: readonly WireMessage[];
  readonly resolve: (receipts: PublishReceipt[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Transports of this process, by file, so a send wakes local consumers on other connections too. */
const LOCAL_PEERS = new Map<string, Set<SqliteTransport>>();

/**
 * The embedded bus: a Kafka-like log in one SQLite file (see README.md).
 * Sends and commits made in the same turn of the event loop are written in
 * one transaction, which is what makes a durable commit per record cheap.
 */
export class SqliteTransport implements BusTransport, MemberHost {
  readonly system = 'sqlite';
  readonly log: SqliteLog;
  readonly host = hostname();
  readonly pid = process.pid;
  readonly settings;
  private readonly options: SqliteTransportOptions;
  private readonly file: string | undefined;
  private readonly members = new Set<GroupMember>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly topicCache = new Map<string, TopicRow>();
  /**
   * The next offset of each partition as far as this process knows: from its
   * own appends, local peers' appends, and a re-read of every head whenever
   * another process has written. A consumer at its partition's head waits
   * instead of querying for records that are not there.
   */
  private readonly heads = new Map<string, number>();
  /**
   * The file's data_version at which `heads` is exact for every partition,
   * and `flushTopics` for the topics it holds: no other connection has
   * written since. While it still is, a flush appends at the heads it knows
   * instead of reading them (and the topics) from the file again.
   */
  private exactAt: number | undefined;
  private readonly flushTopics = new Map<string, TopicRow>();
  /** The newest records appended through this process, per partition, in offset order without gaps. */
  private readonly tails = new Map<string, MessageRow[]>();
  private pendingSends: PendingSend[] = [];
  private pendingCommits = new Map<PartitionWorker, number>();
  private flushQueued = false;
  private lastDataVersion: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollDelayMs = 0;
  /** When the scheduled check runs (Date.now() time). */
  private pollDueAt = 0;
  /** The pace a check brought forward by the watch goes back to if it finds nothing new. */
  private resumeDelayMs: number | undefined;
  /** Watches the write-ahead log for others' writes (and our own, which the check tells apart). */
  private walWatcher: FSWatcher | undefined;
  /**
   * Whether members of another process consume from this file (as of the last
   * heartbeat). Only then is an answer to our sends likely to come from
   * outside, worth watching the file closely for; alone, a process's own
   * sends wake its consumers directly and polling stays slow.
   */
  private othersLive: boolean;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatDelayMs = 0;
  /** data_version at the last beat: unchanged means no other connection wrote since. */
  private beatDataVersion: number | undefined;
  private heartbeatDueAt = 0;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<number> | undefined;
  private checkpointer: WalCheckpointer | undefined;
  /** The transports of this process's other threads on the file (thread-notices.ts). */
  private threads: FileChannelMembership<ThreadNotice> | undefined;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;

  constructor(options: SqliteTransportOptions) {
    this.options = options;
    this.settings = {
      defaultPartitions: positive(options.defaultPartitions ?? 8, 'defaultPartitions'),
      autoCreateTopics: options.autoCreateTopics ?? true,
      pollIntervalMs: positive(options.pollIntervalMs ?? 5, 'pollIntervalMs'),
      idlePollIntervalMs: positive(
        Math.max(options.idlePollIntervalMs ?? 50, options.pollIntervalMs ?? 5),
        'idlePollIntervalMs',
      ),
      watchFile: options.watchFile ?? true,
      watchedIdlePollIntervalMs: positive(
        Math.max(
          options.watchedIdlePollIntervalMs ?? 1000,
          options.idlePollIntervalMs ?? 50,
          options.pollIntervalMs ?? 5,
        ),
        'watchedIdlePollIntervalMs',
      ),
      fetchBatchSize: positive(options.fetchBatchSize ?? 256, 'fetchBatchSize'),
      heartbeatIntervalMs: positive(options.heartbeatIntervalMs ?? 1000, 'heartbeatIntervalMs'),
      aloneHeartbeatIntervalMs: positive(
        Math.max(
          options.aloneHeartbeatIntervalMs ?? (options.sessionTimeoutMs ?? 10_000) / 4,
          options.heartbeatIntervalMs ?? 1000,
        ),
        'aloneHeartbeatIntervalMs',
      ),
      sessionTimeoutMs: positive(options.sessionTimeoutMs ?? 10_000, 'sessionTimeoutMs'),
      retryBackoffMs: positive(options.retryBackoffMs ?? 100, 'retryBackoffMs'),
      retryBackoffMaxMs: positive(options.retryBackoffMaxMs ?? 2000, 'retryBackoffMaxMs'),
      drainTimeoutMs: positive(options.drainTimeoutMs ?? 30_000, 'drainTimeoutMs'),
      maxAgeMs: options.retention?.maxAgeMs === undefined ? 7 * DAY_MS : options.retention.maxAgeMs,
      maxMessagesPerPartition: options.retention?.maxMessagesPerPartition ?? null,
      retentionCheckIntervalMs: positive(
        options.retention?.checkIntervalMs ?? 60_000,
        'retention.checkIntervalMs',
      ),
    };
    const busyTimeoutMs = positive(options.busyTimeoutMs ?? 5000, 'busyTimeoutMs');
    const checkpointIntervalMs = options.checkpointIntervalMs ?? 250;
    const onDisk = options.filename !== ':memory:' && options.filename !== '';
    const offThread = onDisk && checkpointIntervalMs > 0;
    this.log = new SqliteLog(
      options.filename,
      busyTimeoutMs,
      offThread ? SAFETY_NET_CHECKPOINT_PAGES : 0,
    );
    this.lastDataVersion = this.log.dataVersion();
    this.othersLive = this.log.othersLive(this.pid, this.host, Date.now());
    this.readHeads();
    this.exactAt = this.lastDataVersion;
    if (onDisk) {
      this.file = resolvePath(options.filename);
      const peers = LOCAL_PEERS.get(this.file) ?? new Set();
      peers.add(this);
      LOCAL_PEERS.set(this.file, peers);
      this.threads = joinThreadPeers(this.file, {
        advance: (heads) => this.advance(heads),
        groupChanged: (group) => this.checkGroup(group),
      });
    }
    if (offThread) {
      this.checkpointer = startWalCheckpointer(this.file!, {
        intervalMs: checkpointIntervalMs,
        busyTimeoutMs,
        onError: (error) => this.report(error, 'checkpoint'),
      });
    }
    this.retentionTimer = setInterval(() => {
      void this.enforceRetention().catch((error) => this.report(error, 'retention'));
    }, this.settings.retentionCheckIntervalMs);
    this.retentionTimer.unref();
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    for (const spec of topics) {
      const partitions = positive(spec.partitions || this.settings.defaultPartitions, spec.name);
      this.topicCache.set(spec.name, this.log.ensureTopic(topicName(spec.name), partitions, now));
      this.flushTopics.delete(spec.name); // it may have grown
    }
  }

  send(topic: string, messages: readonly WireMessage[]): Promise<PublishReceipt[]> {
    try {
      this.assertOpen();
      this.resolveTopic(topic);
      for (const message of messages) {
        if (typeof message.key !== 'string' || !Buffer.isBuffer(message.value)) {
          throw new TypeError(`send to ${topic}: a message needs a string key and a Buffer value`);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pendingSends.push({ topic, messages, resolve, reject });
      this.queueFlush();
    });
  }

  async consume(spec: ConsumeSpec, handler: RecordHandler): Promise<TransportConsumer> {
    return this.addMember(spec, oneRecordAtATime(handler), 1);
  }

  async consumeBatches(
    spec: ConsumeSpec,
    maxRecords: number,
    handler: BatchHandler,
  ): Promise<TransportConsumer> {
    checkMaxRecords(maxRecords);
    return this.addMember(spec, handler, maxRecords);
  }

  private async addMember(
    spec: ConsumeSpec,
    handler: BatchHandler,
    maxRecords: number,
  ): Promise<TransportConsumer> {
    this.assertOpen();
    if (!spec.group) throw new Error('consume needs a group');
    if (spec.topics.length === 0) throw new Error(`group ${spec.group}: consume needs topics`);
    for (const name of spec.topics) this.resolveTopic(name);
    const member = new GroupMember(this, spec, handler, maxRecords);
    this.members.add(member);
    this.startPolling();
    this.startHeartbeat();
    try {
      member.join();
    } catch (error) {
      this.members.delete(member);
      throw error;
    }
    return member;
  }

  async ping(): Promise<void> {
    this.assertOpen();
    this.log.ping();
  }

  /** Members whose session has not expired, in every process on this file. */
  async liveMembers(group: string): Promise<number> {
    this.assertOpen();
    const now = Date.now();
    return this.log.members(group).filter((member) => member.expiresAt > now).length;
  }

  async ranges(topic: string): Promise<readonly PartitionRange[]> {
    // Sends of this process still batched are not in the log yet; the range is the log's.
    return this.log.ranges(this.resolveTopic(topic).id).map(({ partition, low, high }) => ({
      partition,
      low: String(low),
      high: String(high),
    }));
  }

  async lag(): Promise<readonly ConsumerLag[]> {
    this.assertOpen();
    return this.log.lag();
  }

  /** Stops every consumer gracefully (drain, commit, leave), writes what is queued, closes the file. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Stops at once, as a crash would: in-flight handlers are abandoned (their
   * signals aborted) and never committed, queued sends fail. Commits of
   * handlers that already resolved are still written: they are at most one
   * event-loop turn old, and a record that succeeded counts as committed.
   * Unlike a real crash this process lives on, so the pid check cannot free
   * the partitions; the members' rows are removed instead, exactly as a peer
   * removes a dead process's rows. For tests and the contract harness.
   */
  abandon(): void {
    if (this.state === 'closed') return;
    const crashed = new Error('transport abandoned');
    for (const send of this.pendingSends) send.reject(crashed);
    this.pendingSends = [];
    this.flushWrites();
    this.state = 'closed';
    this.stopTimers();
    this.pendingCommits.clear();
    for (const member of this.members) member.abandon();
    try {
      this.log.transaction(() => {
        for (const member of this.members) {
          this.log.removeMember(member.group, member.memberId);
          this.log.bumpGeneration(member.group);
        }
      });
    } catch (error) {
      this.report(error, 'abandon');
    }
    const groups = new Set([...this.members].map((m) => m.group));
    this.members.clear();
    this.wakeAll();
    this.leavePeers();
    void this.checkpointer?.stop();
    this.log.close();
    for (const group of groups) this.groupChanged(group);
  }

  /**
   * Deletes records past the retention limits; returns how many went. Runs on
   * a timer; public so tools and tests can run it on demand.
   */
  enforceRetention(now = Date.now()): Promise<number> {
    this.retentionRun ??= this.retain(now).finally(() => (this.retentionRun = undefined));
    return this.retentionRun;
  }

  // ------------------------------------------------------------ MemberHost

  queueCommit(worker: PartitionWorker, next: number): void {
    if (this.state === 'closed') return;
    this.pendingCommits.set(worker, next);
    this.queueFlush();
  }

  flushWrites(): void {
    this.flushQueued = false;
    if (this.state === 'closed') return;
    if (this.pendingSends.length === 0 && this.pendingCommits.size === 0) return;
    const sends = this.pendingSends;
    const commits = this.pendingCommits;
    this.pendingSends = [];
    this.pendingCommits = new Map();
    const now = Date.now();
    const fenced: PartitionWorker[] = [];
    const appended: [string, MessageRow][] = [];
    const advanced = new Map<string, number>();
    let receipts: PublishReceipt[][];
    try {
      receipts = this.log.transaction(() => {
        // Inside the write lock: nobody can write between this check and the commit.
        const version = this.log.dataVersion();
        const exact = version === this.exactAt;
        if (!exact) this.flushTopics.clear();
        const heads = new Map<string, { topicId: number; part: number; next: number }>();
        const out = sends.map(({ topic: name, messages }) => {
          let topic = this.flushTopics.get(name);
          if (!topic) {
            // Read inside the write lock: another process may have grown the topic.
            topic = this.log.topic(name) ?? this.createTopic(name, now);
            this.flushTopics.set(name, topic);
          }
          return messages.map((message): PublishReceipt => {
            const part = partitionOf(message.key, topic.partitions);
            const key = partitionKey(topic.id, part);
            let head = heads.get(key);
            if (!head) {
              const known = exact ? this.heads.get(key) : undefined;
              head = {
                topicId: topic.id,
                part,
                next: known ?? this.log.nextOffset(topic.id, part),
              };
              heads.set(key, head);
            }
            const offset = head.next++;
            const headers = JSON.stringify(message.headers ?? {});
            this.log.append(topic.id, part, offset, message.key, message.value, headers, now);
            appended.push([key, [offset, message.key, message.value, headers, now]]);
            return { topic: name, partition: part, offset: String(offset) };
          });
        });
        for (const [key, head] of heads) {
          this.log.setNextOffset(head.topicId, head.part, head.next);
          advanced.set(key, head.next);
        }
        for (const [worker, next] of commits) {
          if (worker.lost) continue;
          const { member, topic, part } = worker;
          if (!this.log.commit(member.group, topic.id, part, next, member.memberId, now)) {
            fenced.push(worker);
          }
        }
        return out;
      });
    } catch (error) {
      this.exactAt = undefined;
      for (const send of sends) send.reject(error);
      // Commits are only an optimisation of redelivery; keep the newest and retry shortly.
      for (const [worker, next] of commits) {
        if (!this.pendingCommits.has(worker)) this.pendingCommits.set(worker, next);
      }
      this.report(error, 'writing sends and commits');
      if (this.pendingCommits.size > 0) {
        setTimeout(() => this.queueFlush(), this.settings.retryBackoffMs).unref();
      }
      return;
    }
    for (const [key, row] of appended) this.remember(key, row);
    if (sends.length > 0 && this.othersLive) this.quickenPolling();
    sends.forEach((send, i) => send.resolve(receipts[i]));
    for (const worker of fenced) worker.member.fenced(worker);
    if (advanced.size > 0) {
      for (const peer of this.peers()) peer.advance(advanced);
      this.threads?.post({ heads: [...advanced] });
    }
  }

  knownHead(topicId: number, part: number): number {
    return this.heads.get(partitionKey(topicId, part)) ?? Infinity;
  }

  fetch(topicId: number, part: number, from: number, limit: number): MessageRow[] {
    const tail = this.tails.get(partitionKey(topicId, part));
    if (tail && tail.length > 0 && tail[0]![0] <= from) {
      const start = from - tail[0]![0];
      if (start < tail.length) return tail.slice(start, start + limit);
      // Past our own appends: another process may have written since.
    }
    return this.log.fetch(topicId, part, from, limit);
  }

  waitForRecords(topicId: number, part: number): { promise: Promise<void>; cancel(): void } {
    const key = partitionKey(topicId, part);
    let set = this.waiters.get(key);
    if (!set) {
      set = new Set();
      this.waiters.set(key, set);
    }
    const waiters = set;
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    const wake = () => {
      waiters.delete(wake);
      done();
    };
    waiters.add(wake);
    return { promise, cancel: wake };
  }

  groupChanged(group: string): void {
    for (const peer of this.peers()) peer.checkGroup(group);
    this.threads?.post({ group });
  }

  detach(member: GroupMember): void {
    this.members.delete(member);
    if (this.members.size === 0) {
      this.stopPolling();
      this.stopHeartbeat();
    }
  }

  report(error: unknown, context: string): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // A failing error sink must not take the bus down with it.
    }
  }

  // --------------------------------------------------------------- private

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // setImmediate, not a microtask: every send issued in this turn joins the batch.
    setImmediate(() => this.flushWrites());
  }

  private resolveTopic(name: string): TopicRow {
    const cached = this.topicCache.get(name);
    if (cached) return cached;
    const topic = this.log.topic(topicName(name)) ?? this.createTopic(name, Date.now());
    this.topicCache.set(name, topic);
    return topic;
  }

  private createTopic(name: string, now: number): TopicRow {
    if (!this.settings.autoCreateTopics) {
      throw new Error(`unknown topic ${name} (autoCreateTopics is off; call ensureTopics first)`);
    }
    return this.log.ensureTopic(topicName(name), this.settings.defaultPartitions, now);
  }

  /** Partitions whose head moved (appends through a transport on this file, in this process): wake their consumers. */
  private advance(heads: ReadonlyMap<string, number>): void {
    for (const [key, next] of heads) {
      if (next > (this.heads.get(key) ?? -1)) this.heads.set(key, next);
      const set = this.waiters.get(key);
      if (!set) continue;
      for (const wake of [...set]) wake();
    }
  }

  /** Every partition's head as the file has it: after another process wrote, or at start. */
  private readHeads(): void {
    for (const head of this.log.heads()) {
      const key = partitionKey(head.topicId, head.part);
      this.heads.set(key, head.nextOffset);
      const tail = this.tails.get(key);
      // Another process appended after our last record: the tail no longer ends at the head.
      if (tail && tail.length > 0 && tail[tail.length - 1]![0] + 1 !== head.nextOffset) {
        this.tails.delete(key);
      }
    }
  }

  /** Keeps `row` as the newest of its partition's tail, starting the tail again after a gap. */
  private remember(key: string, row: MessageRow): void {
    let tail = this.tails.get(key);
    if (!tail || (tail.length > 0 && tail[tail.length - 1]![0] + 1 !== row[0])) {
      tail = [];
      this.tails.set(key, tail);
    }
    tail.push(row);
    if (tail.length > TAIL_RECORDS) tail.splice(0, tail.length - TAIL_RECORDS);
  }

  /** Drops remembered records below `offset`, as retention deletes them from the file. */
  private forgetBefore(key: string, offset: number): void {
    const tail = this.tails.get(key);
    if (!tail || tail.length === 0 || tail[0]![0] >= offset) return;
    tail.splice(0, Math.min(tail.length, offset - tail[0]![0]));
  }

  private checkGroup(group: string): void {
    for (const member of this.members) if (member.group === group) member.checkGeneration();
  }

  private wakeAll(): void {
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }

  private peers(): Iterable<SqliteTransport> {
    return (this.file && LOCAL_PEERS.get(this.file)) || [this];
  }

  private leavePeers(): void {
    this.threads?.leave();
    if (!this.file) return;
    const peers = LOCAL_PEERS.get(this.file);
    peers?.delete(this);
    if (peers?.size === 0) LOCAL_PEERS.delete(this.file);
  }

  /** Notices other processes' writes: new records wake idle partitions, group changes rebalance. */
  private startPolling(): void {
    if (this.pollTimer) return;
    this.watchLog();
    this.schedulePoll(this.settings.pollIntervalMs);
  }

  private schedulePoll(delayMs: number): void {
    this.resumeDelayMs = undefined;
    this.pollDelayMs = delayMs;
    this.pollDueAt = Date.now() + delayMs;
    this.pollTimer = setTimeout(() => {
      const changed = this.poll();
      if (this.pollTimer === undefined) return; // stopped meanwhile
      const { pollIntervalMs } = this.settings;
      const resume = this.resumeDelayMs;
      this.resumeDelayMs = undefined;
      if (changed) this.schedulePoll(pollIntervalMs);
      // Our own commit fired the watch: carry on at the pace it interrupted.
      else if (resume !== undefined) this.schedulePoll(resume);
      else this.schedulePoll(Math.min(this.idlePollCap(), Math.ceil(this.pollDelayMs * 1.5)));
    }, delayMs);
    this.pollTimer.unref();
  }

  /** Slow while the log is watched (a write brings the check closer), quicker where it is not. */
  private idlePollCap(): number {
    const { idlePollIntervalMs, watchedIdlePollIntervalMs } = this.settings;
    return this.walWatcher ? watchedIdlePollIntervalMs : idlePollIntervalMs;
  }

  /**
   * Watches the write-ahead log, where every commit to the file lands (WAL
   * mode; the log stays while a connection is open). Our own commits fire it
   * too: the check it brings on finds data_version unchanged, costs a pragma
   * (at most one per `pollIntervalMs`), and the slow pace carries on.
   */
  private watchLog(): void {
    if (!this.file || !this.settings.watchFile || this.walWatcher) return;
    try {
      const watcher = watch(`${this.file}-wal`, { persistent: false }, (event) => {
        // The log went away or was replaced: this watch would hear no more.
        if (event === 'rename') this.unwatchLog();
        this.pollSoon();
      });
      watcher.on('error', (error) => {
        this.report(error, 'watching the file');
        this.unwatchLog();
        this.pollSoon();
      });
      this.walWatcher = watcher;
    } catch (error) {
      // No watch here (no such file yet, no inotify, a file system without events): poll alone.
      this.report(error, 'watching the file');
    }
  }

  private unwatchLog(): void {
    this.walWatcher?.close();
    this.walWatcher = undefined;
  }

  /** Something wrote to the file: check within `pollIntervalMs`, if not already due by then. */
  private pollSoon(): void {
    if (this.pollTimer === undefined || this.state === 'closed') return;
    const { pollIntervalMs } = this.settings;
    if (this.pollDueAt <= Date.now() + pollIntervalMs) return;
    clearTimeout(this.pollTimer);
    const interrupted = this.pollDelayMs;
    this.schedulePoll(pollIntervalMs);
    this.resumeDelayMs = interrupted;
  }

  /** Local activity: others are likely to answer, so watch the file closely again. */
  private quickenPolling(): void {
    if (this.pollTimer === undefined || this.pollDelayMs <= this.settings.pollIntervalMs) return;
    clearTimeout(this.pollTimer);
    this.schedulePoll(this.settings.pollIntervalMs);
  }

  private stopPolling(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.unwatchLog();
  }

  /** Whether another process wrote since the last poll. */
  private poll(): boolean {
    if (this.state === 'closed') return false;
    let version: number;
    try {
      version = this.log.dataVersion();
    } catch (error) {
      this.report(error, 'polling the file');
      return false;
    }
    if (version === this.lastDataVersion) return false;
    this.lastDataVersion = version;
    this.exactAt = undefined;
    try {
      this.readHeads();
      this.exactAt = version;
    } catch (error) {
      // Forget what we knew: consumers query the file until the next poll reads the heads.
      this.heads.clear();
      this.report(error, 'reading partition heads');
    }
    this.wakeAll();
    for (const member of this.members) member.checkGeneration();
    // Another process is about: if it joins a group, its liveness matters within a beat.
    this.hastenHeartbeat();
    return true;
  }

  /** One heartbeat for every member of this process: one transaction, not one per member. */
  private startHeartbeat(): void {
    if (this.heartbeatTimer) return;
    this.scheduleHeartbeat(this.heartbeatPace());
  }

  /** Alone on the file, nobody needs our liveness (or theirs) checked every second. */
  private heartbeatPace(): number {
    const { heartbeatIntervalMs, aloneHeartbeatIntervalMs } = this.settings;
    return this.othersLive ? heartbeatIntervalMs : aloneHeartbeatIntervalMs;
  }

  private scheduleHeartbeat(delayMs: number): void {
    this.heartbeatDelayMs = delayMs;
    this.heartbeatDueAt = Date.now() + delayMs;
    // Ref'd on purpose: a running consumer keeps the process alive, as a Kafka one does.
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeat();
      if (this.heartbeatTimer === undefined) return; // stopped meanwhile
      this.scheduleHeartbeat(this.heartbeatPace());
    }, delayMs);
  }

  /** Brings the next beat within `heartbeatIntervalMs`, if it is further off. */
  private hastenHeartbeat(): void {
    if (this.heartbeatTimer === undefined || this.state === 'closed') return;
    const { heartbeatIntervalMs } = this.settings;
    if (this.heartbeatDueAt <= Date.now() + heartbeatIntervalMs) return;
    clearTimeout(this.heartbeatTimer);
    this.scheduleHeartbeat(heartbeatIntervalMs);
  }

  private stopHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private heartbeat(): void {
    if (this.state === 'closed') return;
    const now = Date.now();
    const due: GroupMember[] = [];
    try {
      this.log.transaction(() => {
        // Nobody else wrote since the last beat and nobody else is live: no safety-net rounds.
        const version = this.log.dataVersion();
        const quiet = !this.othersLive && version === this.beatDataVersion;
        this.beatDataVersion = version;
        for (const member of this.members) if (member.beat(now, quiet)) due.push(member);
      });
      this.othersLive = this.log.othersLive(this.pid, this.host, now);
    } catch (error) {
      this.report(error, 'heartbeat');
      return;
    }
    for (const member of due) member.fullRound();
  }

  private stopTimers(): void {
    this.stopPolling();
    this.stopHeartbeat();
    clearInterval(this.retentionTimer);
    this.retentionTimer = undefined;
  }

  private async shutdown(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await Promise.all([...this.members].map((member) => member.stop()));
    await this.retentionRun?.catch(() => undefined);
    if ((this.state as string) === 'closed') return; // abandoned meanwhile
    this.flushWrites();
    this.state = 'closed';
    this.stopTimers();
    this.leavePeers();
    // The checkpointer's connection goes first, so this one is the last and folds the WAL back in.
    await this.checkpointer?.stop().catch((error) => this.report(error, 'checkpoint'));
    this.log.close();
  }

  private async retain(now: number): Promise<number> {
    const { maxAgeMs, maxMessagesPerPartition } = this.settings;
    if (maxAgeMs === null && maxMessagesPerPartition === null) return 0;
    let deleted = 0;
    for (const head of this.log.heads()) {
      let cutoff = 0;
      if (maxMessagesPerPartition !== null) {
        cutoff = Math.max(cutoff, head.nextOffset - maxMessagesPerPartition);
      }
      if (maxAgeMs !== null) {
        const first = this.log.firstOffsetSince(head.topicId, head.part, now - maxAgeMs);
        cutoff = Math.max(cutoff, first ?? head.nextOffset);
      }
      if (cutoff <= 0) continue;
      this.forgetBefore(partitionKey(head.topicId, head.part), cutoff);
      for (;;) {
        if (this.state === 'closed') return deleted;
        const gone = this.log.transaction(() =>
          this.log.deleteBefore(head.topicId, head.part, cutoff, RETENTION_CHUNK),
        );
        deleted += gone;
        if (gone < RETENTION_CHUNK) break;
        // Let handlers and sends run between chunks.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return deleted;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error('the sqlite bus transport is closed');
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`sqlite bus: ${name} must be a positive number, got ${value}`);
  }
  return value;
}

function topicName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new Error('a topic needs a name');
  return name;
}
