import type Database from 'better-sqlite3';
import type { AnyEnvelope, TopicName } from '@leash/contracts';
import {
  StoreError,
  prepareOutboxRecord,
  type EnqueueOptions,
  type Inbox,
  type OutboxEntry,
  type OutboxStore,
  type OutboxWriter,
} from '@leash/store';
import { CommittedOutbox } from './committed-outbox';
import type { GroupCommit, TxState } from './group-commit';

/*
 * The inbox (claims of processed events), the outbox (events to publish,
 * written with the state they come from) and the relay's lease, in tables of
 * their own beside the aggregates'.
 */

type Statement = Database.Statement;

/**
 * How long the rows of sent outbox entries may wait for a commit to ride on
 * before they get one of their own. Until deleted they are only filtered out;
 * a crash in between publishes them again, which consumers dedupe.
 */
const SENT_DELETE_DELAY_MS = 100;
/** Claims deleted per statement, so one prune never holds the event loop (or the write lock) for long. */
const INBOX_PRUNE_CHUNK = 5_000;

const PENDING_SQL = `SELECT seq, topic, key, envelope, headers, enqueued_at, attempts, last_error
  FROM _leash_outbox ORDER BY seq LIMIT ?`;

interface OutboxRow {
  readonly seq: number;
  readonly topic: string;
  readonly key: string;
  readonly envelope: string;
  readonly headers: string;
  readonly enqueued_at: number;
  readonly attempts: number;
  readonly last_error: string | null;
}

function outboxEntries(rows: readonly OutboxRow[]): OutboxEntry[] {
  return rows.map((row) => ({
    id: String(row.seq),
    topic: row.topic as TopicName,
    key: row.key,
    envelope: JSON.parse(row.envelope) as AnyEnvelope,
    headers: JSON.parse(row.headers) as Record<string, string>,
    enqueuedAt: new Date(row.enqueued_at).toISOString(),
    attempts: row.attempts,
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
  }));
}

function ended(): Promise<never> {
  return Promise.reject(new StoreError('the transaction has ended'));
}

export class InboxOutbox {
  readonly outbox: OutboxStore;
  /** The relay's pass reads what this connection enqueued from here, not from the table. */
  private readonly committedOutbox = new CommittedOutbox();
  private readonly listeners = new Set<() => void>();
  /** Lease expiry per owner this process holds, to skip renewals that are not due. */
  private readonly leases = new Map<string, number>();
  private sentDeleteTimer: NodeJS.Timeout | undefined;
  private s!: Record<
    | 'claim'
    | 'enqueue'
    | 'pending'
    | 'sent'
    | 'failed'
    | 'lease'
    | 'release'
    | 'pruneInbox'
    | 'dataVersion',
    Statement
  >;

  constructor(
    private readonly db: Database.Database,
    private readonly commits: GroupCommit,
    private readonly options: {
      /** Inbox claims older than this are deleted by pruneInbox; null keeps them. */
      readonly inboxRetentionMs: number | null;
      readonly onError: (error: Error) => void;
    },
  ) {
    this.outbox = {
      pending: (limit) => this.pending(limit),
      markSent: (ids) => this.markSent(ids),
      markFailed: (id, error) => this.markFailed(id, error),
      acquireLease: (owner, ttlMs) => this.acquireLease(owner, ttlMs),
      releaseLease: (owner) => this.releaseLease(owner),
      onEnqueued: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }

  /** Creates the tables (in a unit of work of the caller's) and prepares their statements. */
  createTables(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS _leash_inbox (
        consumer TEXT NOT NULL,
        event_id TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        PRIMARY KEY (consumer, event_id)
      ) WITHOUT ROWID;
      -- For pruning by age; claims arrive in time order, so it grows at its tail only.
      CREATE INDEX IF NOT EXISTS _leash_inbox_claimed_at ON _leash_inbox (claimed_at);
      -- AUTOINCREMENT: seq never goes back, even after the newest rows are deleted as sent.
      CREATE TABLE IF NOT EXISTS _leash_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        envelope TEXT NOT NULL,
        headers TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE TABLE IF NOT EXISTS _leash_lease (
        name TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `);
    const db = this.db;
    this.s = {
      claim: db.prepare(
        'INSERT INTO _leash_inbox (consumer, event_id, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      enqueue: db.prepare(
        `INSERT INTO _leash_outbox (topic, key, event_id, envelope, headers, enqueued_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      pending: db.prepare(PENDING_SQL),
      // One statement for a whole pass: the ids travel as one JSON array.
      sent: db.prepare('DELETE FROM _leash_outbox WHERE seq IN (SELECT value FROM json_each(?))'),
      failed: db.prepare(
        'UPDATE _leash_outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?',
      ),
      lease: db.prepare(
        `INSERT INTO _leash_lease (name, owner, expires_at) VALUES ('outbox', ?, ?)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE _leash_lease.owner = excluded.owner OR _leash_lease.expires_at <= ?`,
      ),
      release: db.prepare("DELETE FROM _leash_lease WHERE name = 'outbox' AND owner = ?"),
      pruneInbox: db.prepare(
        `DELETE FROM _leash_inbox WHERE (consumer, event_id) IN (
           SELECT consumer, event_id FROM _leash_inbox WHERE claimed_at < ? ORDER BY claimed_at LIMIT ?)`,
      ),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
  }

  // ------------------------------------------------ inside a transaction

  inbox(state: TxState): Inbox {
    return {
      claim: (consumer, eventId) => {
        if (!state.active) return ended();
        if (!consumer || !eventId) {
          return Promise.reject(new StoreError('inbox: consumer and eventId must be non-empty'));
        }
        return Promise.resolve(this.s.claim.run(consumer, eventId, Date.now()).changes === 1);
      },
    };
  }

  writer(state: TxState): OutboxWriter {
    return {
      enqueue: (topic, envelope, options?: EnqueueOptions) => {
        if (!state.active) return ended();
        try {
          const record = prepareOutboxRecord(topic, envelope as AnyEnvelope, options);
          const enqueuedAt = Date.now();
          const { lastInsertRowid } = this.s.enqueue.run(
            record.topic,
            record.key,
            record.eventId,
            record.envelope,
            record.headers,
            enqueuedAt,
          );
          // What a read of the row would give, without serialising and parsing it again.
          state.enqueued.push({
            id: String(lastInsertRowid),
            topic: record.topic,
            key: record.key,
            envelope: envelope as AnyEnvelope,
            headers: { ...options?.headers },
            enqueuedAt: new Date(enqueuedAt).toISOString(),
            attempts: 0,
          });
          return Promise.resolve();
        } catch (error) {
          return Promise.reject(error);
        }
      },
    };
  }

  // ------------------------------------------------- around each commit

  /**
   * Deletes the rows of sent entries in the open transaction, in a savepoint
   * of their own so a failure here costs the group nothing (they are tried
   * again with the next commit). Returns what puts them back if the commit
   * fails.
   */
  deleteSentRows(): () => void {
    const toDelete = this.committedOutbox.toDelete;
    if (toDelete.size === 0) return () => undefined;
    const seqs = [...toDelete];
    try {
      this.commits.inSavepoint(() => this.s.sent.run(JSON.stringify(seqs)));
    } catch (error) {
      this.options.onError(error as Error);
      return () => undefined;
    }
    toDelete.clear();
    return () => {
      for (const seq of seqs) toDelete.add(seq);
    };
  }

  /** A commit's entries, known without reading them back. */
  committed(enqueued: readonly OutboxEntry[]): void {
    this.committedOutbox.committed(enqueued);
  }

  notifyEnqueued(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure must not fail a transaction that already committed.
      }
    }
  }

  /** True when closing should give the deletes of sent rows one last commit. */
  get hasSentRows(): boolean {
    return this.committedOutbox.toDelete.size > 0;
  }

  /** For close: no more commits of their own for the deletes of sent rows. */
  stopTimer(): void {
    clearTimeout(this.sentDeleteTimer);
  }

  /** For close, after the last commit. */
  forgetListeners(): void {
    this.listeners.clear();
  }

  /**
   * Deletes inbox claims older than the retention, a chunk per write so
   * handlers' transactions run between chunks. Returns how many went.
   */
  async pruneInbox(now: number): Promise<number> {
    if (this.options.inboxRetentionMs === null || this.commits.isClosing) return 0;
    const cutoff = now - this.options.inboxRetentionMs;
    let deleted = 0;
    for (;;) {
      const changes = await this.commits.write(
        () => this.s.pruneInbox.run(cutoff, INBOX_PRUNE_CHUNK).changes,
      );
      deleted += changes;
      if (changes < INBOX_PRUNE_CHUNK || this.commits.isClosing) return deleted;
    }
  }

  // ----------------------------------------------------- the relay's side

  private async pending(limit: number): Promise<OutboxEntry[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new StoreError('outbox: limit must be a positive integer');
    }
    this.commits.checkEntry();
    this.commits.checkOpen();
    const known = this.committedOutbox.pending(limit, this.s.dataVersion.get() as number);
    if (known) return known;
    // Rows marked sent but not deleted yet are skipped, so read enough to fill the batch anyway.
    const wanted = limit + this.committedOutbox.toDelete.size;
    const { rows, mark } = await this.commits.read(() => ({
      rows: this.s.pending.all(wanted) as OutboxRow[],
      mark: this.committedOutbox.mark(this.s.dataVersion.get() as number),
    }));
    const fresh = this.committedOutbox.resync(outboxEntries(rows), rows.length < wanted, mark);
    return fresh.slice(0, limit);
  }

  /** The rows are deleted with the next commit; until then pending() leaves them out. */
  private async markSent(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const seqs = ids.map(Number);
    if (!seqs.every(Number.isSafeInteger)) {
      throw new StoreError('outbox: ids must be the ids pending() returned');
    }
    this.commits.checkEntry();
    this.commits.checkOpen();
    this.committedOutbox.sent(seqs);
    this.sentDeleteTimer ??= setTimeout(() => {
      this.sentDeleteTimer = undefined;
      if (this.committedOutbox.toDelete.size === 0 || this.commits.isClosing) return;
      // An empty unit of work: its commit carries the deletes.
      this.commits.write(() => undefined).catch((error: Error) => this.options.onError(error));
    }, SENT_DELETE_DELAY_MS);
    this.sentDeleteTimer.unref();
  }

  private markFailed(id: string, error: string): Promise<void> {
    const message = error.slice(0, 2000);
    return this.commits
      .write(() => {
        this.s.failed.run(message, Number(id));
      })
      .then(() => this.committedOutbox.failed(Number(id), message));
  }

  private async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.leases.get(owner);
    // Nobody can take an unexpired lease, so renewing before half of it is gone buys nothing.
    if (held !== undefined && held - now > ttlMs / 2) return true;
    const expiresAt = now + ttlMs;
    const won = await this.commits.write(
      () => this.s.lease.run(owner, expiresAt, now).changes === 1,
    );
    if (won) this.leases.set(owner, expiresAt);
    else this.leases.delete(owner);
    return won;
  }

  private async releaseLease(owner: string): Promise<void> {
    this.leases.delete(owner);
    if (this.commits.isClosing) return;
    await this.commits.write(() => {
      this.s.release.run(owner);
    });
  }
}
