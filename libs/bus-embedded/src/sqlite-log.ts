import Database from 'better-sqlite3';

/*
 * The bus file: every table and prepared statement, nothing else. All of it is
 * synchronous (better-sqlite3); callers keep each call short so the event loop
 * is never held for long.
 *
 * Messages live in a rowid table with a unique (topic, partition, offset)
 * index rather than a WITHOUT ROWID table: a WITHOUT ROWID row over ~1 KB
 * spills into overflow pages, and events are about that size.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_topics (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  partitions  INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_partitions (
  topic_id     INTEGER NOT NULL,
  part         INTEGER NOT NULL,
  next_offset  INTEGER NOT NULL,
  PRIMARY KEY (topic_id, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_messages (
  topic_id    INTEGER NOT NULL,
  part        INTEGER NOT NULL,
  msg_offset  INTEGER NOT NULL,
  key         TEXT NOT NULL,
  value       BLOB NOT NULL,
  headers     TEXT NOT NULL,
  timestamp   INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS bus_messages_position ON bus_messages (topic_id, part, msg_offset);
CREATE TABLE IF NOT EXISTS bus_offsets (
  group_name    TEXT NOT NULL,
  topic_id      INTEGER NOT NULL,
  part          INTEGER NOT NULL,
  next_offset   INTEGER NOT NULL,
  committed_at  INTEGER NOT NULL,
  PRIMARY KEY (group_name, topic_id, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_groups (
  name        TEXT PRIMARY KEY,
  generation  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_members (
  group_name  TEXT NOT NULL,
  member_id   TEXT NOT NULL,
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  topics      TEXT NOT NULL,
  joined_at   INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (group_name, member_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_leases (
  group_name  TEXT NOT NULL,
  topic_id    INTEGER NOT NULL,
  part        INTEGER NOT NULL,
  member_id   TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (group_name, topic_id, part)
) WITHOUT ROWID;
`;

export interface TopicRow {
  readonly id: number;
  readonly name: string;
  readonly partitions: number;
}

/** A fetched message: [offset, key, value, headers JSON, timestamp]. */
export type MessageRow = [number, string, Buffer, string, number];

export interface MemberRow {
  readonly memberId: string;
  readonly host: string;
  readonly pid: number;
  readonly topics: readonly string[];
  readonly expiresAt: number;
}

export interface LeaseRow {
  readonly topicId: number;
  readonly part: number;
  readonly memberId: string;
  readonly expiresAt: number;
}

export interface LagRow {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** A partition's retained offsets: from `low` to `high` (the next offset). */
export interface PartitionSpan {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

export interface PartitionHead {
  readonly topicId: number;
  readonly part: number;
  readonly nextOffset: number;
}

export class SqliteLog {
  private readonly db: Database.Database;
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly q;

  /** `autoCheckpointPages`: SQLite's own checkpoint threshold on this connection (0 keeps its default). */
  constructor(filename: string, busyTimeoutMs: number, autoCheckpointPages = 0) {
    this.db = new Database(filename, { timeout: busyTimeoutMs });
    this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a process crash (it is in the OS
    // once write() returns); only a power loss can drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('journal_size_limit = 67108864');
    if (autoCheckpointPages > 0) this.db.pragma(`wal_autocheckpoint = ${autoCheckpointPages}`);
    this.tx = this.db.transaction((fn: () => unknown) => fn());
    // IMMEDIATE so two processes creating the schema at once queue up instead of failing.
    this.tx.immediate(() => this.db.exec(SCHEMA));

    const db = this.db;
    this.q = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      ping: db.prepare('SELECT count(*) FROM bus_topics').pluck(),
      topicByName: db.prepare<[string], TopicRow>(
        'SELECT id, name, partitions FROM bus_topics WHERE name = ?',
      ),
      topicById: db.prepare<[number], TopicRow>(
        'SELECT id, name, partitions FROM bus_topics WHERE id = ?',
      ),
      topics: db.prepare<[], TopicRow>('SELECT id, name, partitions FROM bus_topics'),
      insertTopic: db.prepare<[string, number, number]>(
        'INSERT INTO bus_topics (name, partitions, created_at) VALUES (?, ?, ?)',
      ),
      growTopic: db.prepare<[number, number]>('UPDATE bus_topics SET partitions = ? WHERE id = ?'),
      insertPartition: db.prepare<[number, number]>(
        'INSERT OR IGNORE INTO bus_partitions (topic_id, part, next_offset) VALUES (?, ?, 0)',
      ),
      nextOffset: db
        .prepare<[number, number], number>(
          'SELECT next_offset FROM bus_partitions WHERE topic_id = ? AND part = ?',
        )
        .pluck(),
      setNextOffset: db.prepare<[number, number, number]>(
        'UPDATE bus_partitions SET next_offset = ? WHERE topic_id = ? AND part = ?',
      ),
      ranges: db.prepare<[number], PartitionSpan>(
        `SELECT p.part AS partition,
                coalesce((SELECT min(m.msg_offset) FROM bus_messages m
                          WHERE m.topic_id = p.topic_id AND m.part = p.part), p.next_offset) AS low,
                p.next_offset AS high
         FROM bus_partitions p WHERE p.topic_id = ? ORDER BY p.part`,
      ),
      heads: db.prepare<[], PartitionHead>(
        'SELECT topic_id AS topicId, part, next_offset AS nextOffset FROM bus_partitions',
      ),
      insertMessage: db.prepare<[number, number, number, string, Buffer, string, number]>(
        `INSERT INTO bus_messages (topic_id, part, msg_offset, key, value, headers, timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      fetch: db
        .prepare<[number, number, number, number], MessageRow>(
          `SELECT msg_offset, key, value, headers, timestamp FROM bus_messages
           WHERE topic_id = ? AND part = ? AND msg_offset >= ? ORDER BY msg_offset LIMIT ?`,
        )
        .raw(true),
      firstOffsetSince: db
        .prepare<[number, number, number], number>(
          `SELECT msg_offset FROM bus_messages
           WHERE topic_id = ? AND part = ? AND timestamp >= ? ORDER BY msg_offset LIMIT 1`,
        )
        .pluck(),
      deleteBefore: db.prepare<[number, number, number, number]>(
        `DELETE FROM bus_messages WHERE rowid IN (
           SELECT rowid FROM bus_messages WHERE topic_id = ? AND part = ? AND msg_offset < ?
           ORDER BY msg_offset LIMIT ?)`,
      ),
      committed: db
        .prepare<[string, number, number], number>(
          'SELECT next_offset FROM bus_offsets WHERE group_name = ? AND topic_id = ? AND part = ?',
        )
        .pluck(),
      // Fenced: only the member holding the lease may commit, so a member that
      // lost its partition (stalled past its session) cannot move the offset.
      commit: db.prepare<[string, number, number, number, number, string, number, number, string]>(
        `INSERT INTO bus_offsets (group_name, topic_id, part, next_offset, committed_at)
         SELECT ?, ?, ?, ?, ? WHERE EXISTS (
           SELECT 1 FROM bus_leases
           WHERE group_name = ? AND topic_id = ? AND part = ? AND member_id = ?)
         ON CONFLICT (group_name, topic_id, part)
         DO UPDATE SET next_offset = excluded.next_offset, committed_at = excluded.committed_at`,
      ),
      initOffset: db.prepare<[string, number, number, number, number]>(
        `INSERT OR IGNORE INTO bus_offsets (group_name, topic_id, part, next_offset, committed_at)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      ensureGroup: db.prepare<[string]>(
        'INSERT OR IGNORE INTO bus_groups (name, generation) VALUES (?, 0)',
      ),
      generation: db
        .prepare<[string], number>('SELECT generation FROM bus_groups WHERE name = ?')
        .pluck(),
      bumpGeneration: db.prepare<[string]>(
        'UPDATE bus_groups SET generation = generation + 1 WHERE name = ?',
      ),
      members: db.prepare<
        [string],
        { memberId: string; host: string; pid: number; topics: string; expiresAt: number }
      >(
        `SELECT member_id AS memberId, host, pid, topics, expires_at AS expiresAt
         FROM bus_members WHERE group_name = ? ORDER BY member_id`,
      ),
      liveness: db.prepare<
        [string],
        { memberId: string; host: string; pid: number; expiresAt: number }
      >(
        `SELECT member_id AS memberId, host, pid, expires_at AS expiresAt
         FROM bus_members WHERE group_name = ?`,
      ),
      insertMember: db.prepare<[string, string, string, number, string, number, number]>(
        `INSERT INTO bus_members (group_name, member_id, host, pid, topics, joined_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      renewMember: db.prepare<[number, string, string]>(
        'UPDATE bus_members SET expires_at = ? WHERE group_name = ? AND member_id = ?',
      ),
      othersLive: db
        .prepare<[number, string, number], number>(
          `SELECT EXISTS (SELECT 1 FROM bus_members
                          WHERE (pid != ? OR host != ?) AND expires_at > ?)`,
        )
        .pluck(),
      deleteMember: db.prepare<[string, string]>(
        'DELETE FROM bus_members WHERE group_name = ? AND member_id = ?',
      ),
      leases: db.prepare<[string], LeaseRow>(
        `SELECT topic_id AS topicId, part, member_id AS memberId, expires_at AS expiresAt
         FROM bus_leases WHERE group_name = ?`,
      ),
      upsertLease: db.prepare<[string, number, number, string, number]>(
        `INSERT INTO bus_leases (group_name, topic_id, part, member_id, expires_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (group_name, topic_id, part)
         DO UPDATE SET member_id = excluded.member_id, expires_at = excluded.expires_at`,
      ),
      renewLeases: db.prepare<[number, string, string]>(
        'UPDATE bus_leases SET expires_at = ? WHERE group_name = ? AND member_id = ?',
      ),
      deleteLease: db.prepare<[string, number, number, string]>(
        'DELETE FROM bus_leases WHERE group_name = ? AND topic_id = ? AND part = ? AND member_id = ?',
      ),
      // Dead-letter topics count too: a group consuming dead letters can fall behind.
      lag: db.prepare<[], LagRow>(
        `SELECT o.group_name AS "group", t.name AS topic, o.part AS partition,
                max(p.next_offset - o.next_offset, 0) AS lag
         FROM bus_offsets o
         JOIN bus_partitions p ON p.topic_id = o.topic_id AND p.part = o.part
         JOIN bus_topics t ON t.id = o.topic_id
         ORDER BY o.group_name, t.name, o.part`,
      ),
      deleteMemberLeases: db.prepare<[string, string]>(
        'DELETE FROM bus_leases WHERE group_name = ? AND member_id = ?',
      ),
    };
  }

  get open(): boolean {
    return this.db.open;
  }

  /** Runs `fn` in one IMMEDIATE transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.tx.immediate(fn) as T;
  }

  /** Changes whenever another connection commits to the file. */
  dataVersion(): number {
    return this.q.dataVersion.get() as number;
  }

  ping(): void {
    this.q.ping.get();
  }

  topic(name: string): TopicRow | undefined {
    return this.q.topicByName.get(name);
  }

  topicById(id: number): TopicRow | undefined {
    return this.q.topicById.get(id);
  }

  topics(): TopicRow[] {
    return this.q.topics.all();
  }

  /** Creates a topic, or grows it to `partitions` (partitions never shrink, as in Kafka). */
  ensureTopic(name: string, partitions: number, now: number): TopicRow {
    return this.transaction(() => {
      let topic = this.topic(name);
      if (!topic) {
        const id = Number(this.q.insertTopic.run(name, partitions, now).lastInsertRowid);
        topic = { id, name, partitions };
      } else if (topic.partitions < partitions) {
        this.q.growTopic.run(partitions, topic.id);
        topic = { ...topic, partitions };
      }
      for (let part = 0; part < topic.partitions; part++) {
        this.q.insertPartition.run(topic.id, part);
      }
      return topic;
    });
  }

  nextOffset(topicId: number, part: number): number {
    return this.q.nextOffset.get(topicId, part) ?? 0;
  }

  setNextOffset(topicId: number, part: number, next: number): void {
    this.q.setNextOffset.run(next, topicId, part);
  }

  /** Each group's uncommitted records per topic and partition, from the committed offsets. */
  lag(): LagRow[] {
    return this.q.lag.all();
  }

  /** Each partition's earliest retained offset and next offset. */
  ranges(topicId: number): PartitionSpan[] {
    return this.q.ranges.all(topicId);
  }

  heads(): PartitionHead[] {
    return this.q.heads.all();
  }

  append(
    topicId: number,
    part: number,
    offset: number,
    key: string,
    value: Buffer,
    headers: string,
    timestamp: number,
  ): void {
    this.q.insertMessage.run(topicId, part, offset, key, value, headers, timestamp);
  }

  fetch(topicId: number, part: number, from: number, limit: number): MessageRow[] {
    return this.q.fetch.all(topicId, part, from, limit);
  }

  /** The first offset appended at or after `since`, if any. */
  firstOffsetSince(topicId: number, part: number, since: number): number | undefined {
    return this.q.firstOffsetSince.get(topicId, part, since);
  }

  /** Deletes up to `limit` of the oldest messages below `offset`; returns how many went. */
  deleteBefore(topicId: number, part: number, offset: number, limit: number): number {
    return this.q.deleteBefore.run(topicId, part, offset, limit).changes;
  }

  committed(group: string, topicId: number, part: number): number | undefined {
    return this.q.committed.get(group, topicId, part);
  }

  /** Commits if `memberId` holds the partition's lease; returns false when it does not. */
  commit(
    group: string,
    topicId: number,
    part: number,
    next: number,
    memberId: string,
    now: number,
  ): boolean {
    return (
      this.q.commit.run(group, topicId, part, next, now, group, topicId, part, memberId).changes > 0
    );
  }

  initOffset(group: string, topicId: number, part: number, next: number, now: number): void {
    this.q.initOffset.run(group, topicId, part, next, now);
  }

  ensureGroup(group: string): void {
    this.q.ensureGroup.run(group);
  }

  generation(group: string): number {
    return this.q.generation.get(group) ?? 0;
  }

  bumpGeneration(group: string): void {
    this.q.bumpGeneration.run(group);
  }

  /** Whether a live member of any group belongs to another process than (pid, host). */
  othersLive(pid: number, host: string, now: number): boolean {
    return this.q.othersLive.get(pid, host, now) === 1;
  }

  members(group: string): MemberRow[] {
    return this.q.members.all(group).map((row) => ({
      ...row,
      topics: JSON.parse(row.topics) as string[],
    }));
  }

  insertMember(
    group: string,
    memberId: string,
    host: string,
    pid: number,
    topics: readonly string[],
    now: number,
    expiresAt: number,
  ): void {
    this.q.insertMember.run(group, memberId, host, pid, JSON.stringify(topics), now, expiresAt);
  }

  /** Extends a member's session and its leases; false when the member is gone (evicted). */
  /** Who is in the group and until when, without their topics: for the heartbeat's check. */
  liveness(group: string): Omit<MemberRow, 'topics'>[] {
    return this.q.liveness.all(group);
  }

  renewMember(group: string, memberId: string, expiresAt: number): boolean {
    const found = this.q.renewMember.run(expiresAt, group, memberId).changes > 0;
    if (found) this.q.renewLeases.run(expiresAt, group, memberId);
    return found;
  }

  /** Removes a member and every lease it holds. */
  removeMember(group: string, memberId: string): void {
    this.q.deleteMemberLeases.run(group, memberId);
    this.q.deleteMember.run(group, memberId);
  }

  leases(group: string): LeaseRow[] {
    return this.q.leases.all(group);
  }

  takeLease(group: string, topicId: number, part: number, memberId: string, expiresAt: number) {
    this.q.upsertLease.run(group, topicId, part, memberId, expiresAt);
  }

  releaseLease(group: string, topicId: number, part: number, memberId: string): void {
    this.q.deleteLease.run(group, topicId, part, memberId);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
