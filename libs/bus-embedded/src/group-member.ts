import { randomUUID } from 'node:crypto';
import type {
  BatchHandler,
  ConsumeControls,
  ConsumeSpec,
  TransportConsumer,
  TransportRecord,
} from '@leash/bus';
import { assignPartitions } from './partition-assignment';
import type { MessageRow, SqliteLog, TopicRow } from './sqlite-log';

/** What a member needs from the transport that owns the connection. */
export interface MemberHost {
  readonly log: SqliteLog;
  readonly host: string;
  readonly pid: number;
  readonly settings: MemberSettings;
  /** Records that `worker` may commit `next`; written with the next batch of writes. */
  queueCommit(worker: PartitionWorker, next: number): void;
  /** Writes every queued send and commit now. */
  flushWrites(): void;
  /** The partition's next offset as far as this process knows; Infinity when it does not know. */
  knownHead(topicId: number, part: number): number;
  /** Records from offset `from` on, at most `limit`: from memory when this process appended them. */
  fetch(topicId: number, part: number, from: number, limit: number): MessageRow[];
  /** Resolves when records may have arrived on the partition, or when `cancel` is called. */
  waitForRecords(topicId: number, part: number): { promise: Promise<void>; cancel(): void };
  /** Tells members of `group` in this process (any connection to the file) that it changed. */
  groupChanged(group: string): void;
  detach(member: GroupMember): void;
  report(error: unknown, context: string): void;
}

export interface MemberSettings {
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly fetchBatchSize: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly drainTimeoutMs: number;
}

type WorkerState = 'running' | 'draining' | 'stopped';

/**
 * One partition owned by one member: a sequential loop in offset order. It
 * hands the records it has fetched to the handler, up to the member's
 * `maxRecords` at a time (one for a per-record consumer), queues the commit
 * past the last only after the handler resolves, and passes the same records
 * again (after a backoff) when it rejects.
 */
export class PartitionWorker {
  state: WorkerState = 'running';
  /** Set when the lease went to another member: nothing more may be committed. */
  lost = false;
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private readonly controls: ConsumeControls;
  private interrupt: (() => void) | undefined;

  constructor(
    readonly member: GroupMember,
    readonly topic: TopicRow,
    readonly part: number,
    private position: number,
  ) {
    this.controls = { heartbeat: () => member.heartbeat(), signal: this.abort.signal };
    this.done = this.run();
  }

  get key(): string {
    return partitionKey(this.topic.id, this.part);
  }

  /** Stops after the in-flight handler; aborts its signal if that takes longer than `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.state === 'running') this.state = 'draining';
    this.interrupt?.();
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.abort.abort(new Error('consumer stopped before the handler finished'));
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.done, overdue]);
    clearTimeout(timer);
    await this.done;
  }

  /** The partition went elsewhere (or the process is crashing): abort, commit nothing more. */
  halt(reason: string): void {
    this.lost = true;
    this.state = 'stopped';
    this.abort.abort(new Error(reason));
    this.interrupt?.();
  }

  private async run(): Promise<void> {
    const host = this.member.host;
    const { settings } = host;
    let batch: MessageRow[] = [];
    let index = 0;
    while (this.state === 'running') {
      if (index >= batch.length) {
        // At the head: nothing to read until an append (ours, a peer's or another process's) wakes us.
        if (this.position >= host.knownHead(this.topic.id, this.part)) {
          await this.idle();
          continue;
        }
        try {
          batch = host.fetch(this.topic.id, this.part, this.position, settings.fetchBatchSize);
        } catch (error) {
          if (this.state !== 'running') break;
          this.member.host.report(error, `fetch ${this.topic.name}[${this.part}]`);
          await this.pause(settings.retryBackoffMaxMs);
          continue;
        }
        index = 0;
        if (batch.length === 0) {
          await this.idle();
          continue;
        }
      }
      const rows =
        this.member.maxRecords === 1
          ? [batch[index]]
          : batch.slice(index, index + this.member.maxRecords);
      const handled = await this.deliver(rows);
      if (!handled) break;
      index += rows.length;
      this.position = rows[rows.length - 1][0] + 1;
      if (!this.lost) this.member.host.queueCommit(this, this.position);
    }
    this.state = 'stopped';
  }

  /** True once the handler resolved; false when the worker stopped first. */
  private async deliver(rows: readonly MessageRow[]): Promise<boolean> {
    const records = rows.map((row): TransportRecord => ({
      topic: this.topic.name,
      partition: this.part,
      offset: String(row[0]),
      key: row[1],
      value: row[2],
      headers: JSON.parse(row[3]) as Record<string, string>,
      timestamp: row[4],
    }));
    const { settings } = this.member.host;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.member.handler(records, this.controls);
        return true;
      } catch (error) {
        if (this.state !== 'running') return false;
        const first = records[0];
        this.member.host.report(
          error,
          `handler failed on ${first.topic}[${first.partition}]@${first.offset}` +
            (records.length > 1 ? ` (a batch of ${records.length})` : ''),
        );
        const delay = Math.min(
          settings.retryBackoffMs * 2 ** (attempt - 1),
          settings.retryBackoffMaxMs,
        );
        await this.pause(delay);
        if (this.state !== 'running') return false;
      }
    }
  }

  private async idle(): Promise<void> {
    const wait = this.member.host.waitForRecords(this.topic.id, this.part);
    this.interrupt = wait.cancel;
    await wait.promise;
    this.interrupt = undefined;
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.interrupt = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.interrupt = undefined;
  }
}

type MemberState = 'active' | 'stopping' | 'stopped' | 'crashed';

/**
 * One consumer of a group: a row in bus_members and a lease per partition it
 * owns. Every member runs the same assignment over the same rows and only
 * takes partitions that are free, so members in different processes converge
 * without a coordinator. See README.md, "Consumer groups across processes".
 */
export class GroupMember implements TransportConsumer {
  readonly memberId = randomUUID();
  readonly group: string;
  readonly topics: readonly string[];
  private readonly fromBeginning: boolean;
  private readonly workers = new Map<string, PartitionWorker>();
  private state: MemberState = 'active';
  private seenGeneration = -1;
  private rebalanceQueued = false;
  private lastFullRound = 0;
  /** The last round failed (a busy or broken file): the next beat tries again, quiet or not. */
  private roundFailed = false;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly host: MemberHost,
    spec: ConsumeSpec,
    readonly handler: BatchHandler,
    /** The most records handed to `handler` at once. */
    readonly maxRecords = 1,
  ) {
    this.group = spec.group;
    this.topics = [...new Set(spec.topics)];
    this.fromBeginning = spec.fromBeginning ?? true;
  }

  get active(): boolean {
    return this.state === 'active';
  }

  /** Joins the group and takes whatever partitions are free for it right away. */
  join(): void {
    const { log, host, pid, settings } = this.host;
    const now = Date.now();
    log.transaction(() => {
      log.ensureGroup(this.group);
      log.insertMember(
        this.group,
        this.memberId,
        host,
        pid,
        this.topics,
        now,
        now + settings.sessionTimeoutMs,
      );
      log.bumpGeneration(this.group);
    });
    this.host.groupChanged(this.group);
    this.rebalance();
  }

  /** Called when the file changed or a local peer changed the group. */
  checkGeneration(): void {
    if (this.state !== 'active') return;
    try {
      if (this.host.log.generation(this.group) !== this.seenGeneration) this.requestRebalance();
    } catch (error) {
      this.host.report(error, `group ${this.group}: reading generation`);
    }
  }

  /**
   * This member's part of its transport's heartbeat, inside the transaction the
   * transport runs for all its members (one per beat, however many members: an
   * idle `npm start` has about fifteen). It renews the session and leases and
   * says whether a full round of the group protocol is due: the group changed,
   * this member was evicted, another member is dead, or half a session passed
   * since the last one (a safety net). The safety net is skipped while the
   * file is `quiet` (no other connection wrote to it since the last beat, and
   * no other process has a live member): a round then could find nothing new.
   * The transport runs those rounds after the commit. While stopping, it only
   * renews: a long drain must not cost the leases it is about to commit under.
   */
  beat(now: number, quiet = false): boolean {
    const { log, settings } = this.host;
    if (this.state === 'stopping') {
      log.renewMember(this.group, this.memberId, now + settings.sessionTimeoutMs);
      return false;
    }
    if (this.state !== 'active') return false;
    if (this.roundFailed) return true;
    if (!quiet && now - this.lastFullRound >= settings.sessionTimeoutMs / 2) return true;
    return (
      !log.renewMember(this.group, this.memberId, now + settings.sessionTimeoutMs) ||
      log.generation(this.group) !== this.seenGeneration ||
      log
        .liveness(this.group)
        .some((member) => member.memberId !== this.memberId && !this.isAlive(member, now))
    );
  }

  /** A handler's explicit heartbeat during a long call: renews now, whatever the timer. */
  async heartbeat(): Promise<void> {
    if (this.state !== 'active' && this.state !== 'stopping') return;
    const { log, settings } = this.host;
    const alive = log.transaction(() =>
      log.renewMember(this.group, this.memberId, Date.now() + settings.sessionTimeoutMs),
    );
    if (!alive) this.requestRebalance();
  }

  /** A full round of the group protocol, now: what `beat` asked for. */
  fullRound(): void {
    this.rebalance();
  }

  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  /**
   * Stops as a crash would: aborts every handler, commits nothing more and
   * forgets queued commits. The transport then removes the member's rows.
   */
  abandon(): void {
    if (this.state === 'stopped') return;
    this.state = 'crashed';
    for (const worker of this.workers.values()) worker.halt('consumer crashed');
  }

  /** The commit of `worker` was refused: its lease belongs to someone else now. */
  fenced(worker: PartitionWorker): void {
    if (worker.lost) return;
    worker.halt(`lost ${worker.topic.name}[${worker.part}] to another member`);
    void this.forget(worker);
  }

  private requestRebalance(): void {
    if (this.rebalanceQueued || this.state !== 'active') return;
    this.rebalanceQueued = true;
    setImmediate(() => {
      this.rebalanceQueued = false;
      this.rebalance();
    });
  }

  /**
   * One round of the group protocol, in one transaction: evict dead members,
   * renew our session and leases, compute the target assignment, take the
   * partitions that are ours and free, then (outside the transaction) release
   * the ones that are no longer ours and drop the ones someone else took.
   */
  private rebalance(): void {
    if (this.state !== 'active') return;
    const { log, settings } = this.host;
    const now = Date.now();
    this.lastFullRound = now;
    const expiresAt = now + settings.sessionTimeoutMs;
    const taken: Array<{ topic: TopicRow; part: number; position: number }> = [];
    const release: PartitionWorker[] = [];
    const lost: PartitionWorker[] = [];
    let changed = false;
    try {
      log.transaction(() => {
        log.ensureGroup(this.group);
        for (const member of log.members(this.group)) {
          if (member.memberId !== this.memberId && !this.isAlive(member, now)) {
            log.removeMember(this.group, member.memberId);
            changed = true;
          }
        }
        if (!log.renewMember(this.group, this.memberId, expiresAt)) {
          // We were evicted (stalled past the session timeout): join again.
          log.insertMember(
            this.group,
            this.memberId,
            this.host.host,
            this.host.pid,
            this.topics,
            now,
            expiresAt,
          );
          changed = true;
        }
        if (changed) log.bumpGeneration(this.group);

        const members = log.members(this.group);
        const names = [...new Set(members.flatMap((m) => m.topics))];
        const topics = names.map((name) => log.topic(name)).filter((t) => t !== undefined);
        const byName = new Map(topics.map((t) => [t.name, t]));
        const target = assignPartitions(
          members,
          topics.map((t) => ({ topic: t.name, partitions: t.partitions })),
        );
        const live = new Set(members.map((m) => m.memberId));
        const leases = new Map(
          log.leases(this.group).map((lease) => [partitionKey(lease.topicId, lease.part), lease]),
        );
        const wanted = new Set<string>();
        for (const { topic: name, partition: part } of target.get(this.memberId) ?? []) {
          const topic = byName.get(name)!;
          const key = partitionKey(topic.id, part);
          wanted.add(key);
          if (this.workers.has(key)) continue;
          const lease = leases.get(key);
          const free =
            !lease ||
            lease.memberId === this.memberId ||
            !live.has(lease.memberId) ||
            lease.expiresAt < now;
          if (!free) continue; // its owner releases it after draining, then we take it
          log.takeLease(this.group, topic.id, part, this.memberId, expiresAt);
          let position = log.committed(this.group, topic.id, part);
          if (position === undefined) {
            // fromBeginning: offset 0 reads from the earliest retained record.
            position = this.fromBeginning ? 0 : log.nextOffset(topic.id, part);
            // Pin "the end" now, so records published from here on reach the
            // group even if this member dies before committing anything.
            if (!this.fromBeginning) log.initOffset(this.group, topic.id, part, position, now);
          }
          taken.push({ topic, part, position });
          leases.set(key, { topicId: topic.id, part, memberId: this.memberId, expiresAt });
        }
        for (const [key, worker] of this.workers) {
          if (worker.state !== 'running') continue;
          if (leases.get(key)?.memberId !== this.memberId) lost.push(worker);
          else if (!wanted.has(key)) release.push(worker);
        }
        this.seenGeneration = log.generation(this.group);
      });
    } catch (error) {
      this.roundFailed = true;
      this.host.report(error, `group ${this.group}: rebalance`);
      return;
    }
    this.roundFailed = false;
    if (changed) this.host.groupChanged(this.group);
    for (const { topic, part, position } of taken) {
      const worker = new PartitionWorker(this, topic, part, position);
      this.workers.set(worker.key, worker);
    }
    for (const worker of lost) this.fenced(worker);
    for (const worker of release) void this.release(worker);
  }

  private isAlive(member: { host: string; pid: number; expiresAt: number }, now: number): boolean {
    if (member.expiresAt < now) return false;
    if (member.host !== this.host.host) return true;
    try {
      process.kill(member.pid, 0);
      return true;
    } catch (error) {
      // EPERM: the process exists but belongs to someone else.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** Hands a partition back: drain, commit, delete the lease, tell the group. */
  private async release(worker: PartitionWorker): Promise<void> {
    await worker.drain(this.host.settings.drainTimeoutMs);
    if (this.state !== 'active') return; // leave() or abandon() finishes the job
    try {
      this.host.flushWrites();
      const { log } = this.host;
      log.transaction(() => {
        log.releaseLease(this.group, worker.topic.id, worker.part, this.memberId);
        log.bumpGeneration(this.group);
      });
    } catch (error) {
      this.host.report(error, `group ${this.group}: release`);
    }
    this.workers.delete(worker.key);
    this.host.groupChanged(this.group);
    this.requestRebalance();
  }

  /** Drops a halted worker once its handler settled, so the partition may be taken again. */
  private async forget(worker: PartitionWorker): Promise<void> {
    await worker.done;
    if (this.workers.get(worker.key) === worker) this.workers.delete(worker.key);
    this.requestRebalance();
  }

  private async leave(): Promise<void> {
    if (this.state !== 'active') return;
    this.state = 'stopping';
    const { settings, log } = this.host;
    await Promise.all([...this.workers.values()].map((w) => w.drain(settings.drainTimeoutMs)));
    if ((this.state as MemberState) === 'crashed') return;
    try {
      this.host.flushWrites();
      log.transaction(() => {
        log.removeMember(this.group, this.memberId);
        log.bumpGeneration(this.group);
      });
    } catch (error) {
      this.host.report(error, `group ${this.group}: leave`);
    }
    this.state = 'stopped';
    this.workers.clear();
    this.host.detach(this);
    this.host.groupChanged(this.group);
  }
}

export function partitionKey(topicId: number, part: number): string {
  return `${topicId}:${part}`;
}
