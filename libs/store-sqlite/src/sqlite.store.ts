import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import type { AnyEnvelope, TopicName } from '@leash/contracts';
import {
  ConcurrencyError,
  DuplicateError,
  NotFoundError,
  StoreBusyError,
  StoreError,
  planQuery,
  prepareDocument,
  prepareOutboxRecord,
  readDocument,
  WrittenDocuments,
  type AnyAggregate,
  type DocOf,
  type EnqueueOptions,
  type FilterQuery,
  type FindQuery,
  type Inbox,
  type OutboxEntry,
  type OutboxStore,
  type OutboxWriter,
  type QueryPlan,
  type RepositoryOf,
  type Store,
  type Stored,
  type Transaction,
} from '@leash/store';
import { startWalCheckpointer, type WalCheckpointer } from '@leash/sqlite-wal';
import { AsyncLock } from './async-lock';
import { CommittedOutbox } from './committed-outbox';
import {
  addColumnSql,
  backfillColumnsSql,
  columnOf,
  createIndexSql,
  createTableSql,
  currentSql,
  indexValueOf,
  insertSql,
  queryParams,
  querySql,
  quote,
  tableOf,
  updateSql,
  type SqlValue,
} from './sqlite-sql';

export interface SqliteStoreOptions {
  /** Database file (better-sqlite3's name for it); several processes may open one. `:memory:` for a private store. */
  readonly filename: string;
  /** How long a transaction waits for another connection's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * `normal` (default): with WAL, a commit survives a process crash; a power
   * loss may lose the last few. `full` syncs every commit to disk: slower.
   */
  readonly synchronous?: 'normal' | 'full';
  /**
   * How often a worker thread checkpoints the WAL of a file store, so the sync
   * that comes with a checkpoint never stalls the event loop. Default 250 ms;
   * 0 leaves it to SQLite's automatic checkpoint on this thread.
   */
  readonly checkpointIntervalMs?: number;
  /**
   * Group commit: transactions queued behind one another share one SQLite
   * commit (each in its own savepoint, so each still commits or rolls back on
   * its own terms), and none resolves before that commit. A group closes at
   * `maxMembers` units of work or `maxDelayMs` after it opened, whichever
   * comes first. Defaults 64 and 2 ms; `maxMembers: 1` commits each alone.
   */
  readonly commitGroup?: { readonly maxMembers?: number; readonly maxDelayMs?: number };
  /**
   * How long inbox claims are kept. A claim only has to outlive the
   * redeliveries of its event, and the embedded bus keeps records 7 days
   * (Kafka's default too), so the default is 7 days; `null` keeps them
   * forever. Older claims are deleted in the background.
   */
  readonly inboxRetentionMs?: number | null;
  /** How often old inbox claims are deleted. Default 60 s. */
  readonly inboxPruneIntervalMs?: number;
  /** Background failures (the WAL checkpointer, inbox pruning); the store keeps working. */
  readonly onError?: (error: Error) => void;
}

type Statement = Database.Statement;

interface Row {
  readonly id: string;
  readonly version: number;
  readonly body: string;
}

/** Per transaction (and per autocommit write): whether it may still be used, and what to undo. */
class TxState {
  active = true;
  /** Outbox entries this unit wrote, for the relay once they commit. */
  readonly enqueued: OutboxEntry[] = [];
  /** Tables created or altered in this transaction; forgotten if it rolls back. */
  readonly touchedTables: string[] = [];
}

/**
 * Units of work committed by one SQLite transaction, each in its own
 * savepoint. A member's result is held back until `committed` settles, so
 * nobody sees a write, or a read of one, that could still be rolled back.
 */
class CommitGroup {
  members = 0;
  readonly enqueued: OutboxEntry[] = [];
  readonly touchedTables: string[] = [];
  readonly openedAt = performance.now();
  readonly committed: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.committed = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A group whose only member committed it has nobody awaiting this promise.
    this.committed.catch(() => undefined);
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * How long the rows of sent outbox entries may wait for a commit to ride on
 * before they get one of their own. Until deleted they are only filtered out;
 * a crash in between publishes them again, which consumers dedupe.
 */
const SENT_DELETE_DELAY_MS = 100;
/** Claims deleted per statement, so one prune never holds the event loop (or the write lock) for long. */
const INBOX_PRUNE_CHUNK = 5_000;

/** Pages of WAL after which SQLite checkpoints on this thread anyway: only a safety net with the worker. */
const SAFETY_NET_CHECKPOINT_PAGES = 10_000;

const QUERY_CACHE_LIMIT = 256;

/** Prepared statements of one aggregate's table, made once the table exists. */
class AggregateTable {
  readonly get: Statement;
  readonly version: Statement;
  readonly delete: Statement;
  readonly deleteVersioned: Statement;
  /** Index keys (`a,b`) known to exist. */
  readonly indexes = new Set<string>();
  private readonly insertRow: Statement;
  /** [version, ...index column values] of one row. */
  private readonly current: Statement;
  /** Updates by the index columns they set (`a,b`), made as needed. */
  private readonly updates = new Map<string, Statement>();
  private readonly queries = new Map<string, Statement>();

  /** `fields`: every field with an index column that this connection writes. */
  constructor(
    private readonly db: Database.Database,
    private readonly aggregate: AnyAggregate,
    readonly fields: readonly string[],
  ) {
    const t = quote(tableOf(aggregate));
    this.get = db.prepare(`SELECT id, version, body FROM ${t} WHERE id = ?`);
    this.version = db.prepare(`SELECT version FROM ${t} WHERE id = ?`).pluck();
    this.insertRow = db.prepare(insertSql(aggregate, fields));
    this.current = db.prepare(currentSql(aggregate, fields)).raw(true);
    this.delete = db.prepare(`DELETE FROM ${t} WHERE id = ?`);
    this.deleteVersioned = db.prepare(`DELETE FROM ${t} WHERE id = ? AND version = ?`);
  }

  /** False when a document with this id exists. */
  insert(id: string, text: string, doc: unknown): boolean {
    return this.insertRow.run(id, text, ...this.valuesOf(doc)).changes === 1;
  }

  /**
   * Replaces the document's body, and the index columns whose values
   * changed, none other: SQLite rewrites an index only when its columns are
   * set. Returns the new version; undefined when there is no such document.
   * Throws ConcurrencyError when it is not at `expected`.
   */
  replace(id: string, text: string, doc: unknown, expected?: number): number | undefined {
    const row = this.current.get(id) as SqlValue[] | undefined;
    if (!row) return undefined;
    const version = row[0] as number;
    if (expected !== undefined && version !== expected) {
      throw new ConcurrencyError(this.aggregate.name, id, expected, version);
    }
    const values = this.valuesOf(doc);
    const changed: number[] = [];
    for (let i = 0; i < values.length; i++) if (values[i] !== row[i + 1]) changed.push(i);
    this.updateOf(changed).run(text, ...changed.map((i) => values[i]), id);
    return version + 1;
  }

  /** `doc`: a document its aggregate's schema accepted, so a plain object. */
  private valuesOf(doc: unknown): SqlValue[] {
    const fields = doc as Readonly<Record<string, unknown>>;
    return this.fields.map((field) => indexValueOf(fields, field));
  }

  private updateOf(changed: readonly number[]): Statement {
    const key = changed.join(',');
    let statement = this.updates.get(key);
    if (!statement) {
      const fields = changed.map((i) => this.fields[i]!);
      statement = this.db.prepare(updateSql(this.aggregate, fields));
      this.updates.set(key, statement);
    }
    return statement;
  }

  query(plan: QueryPlan, kind: 'find' | 'count'): Statement {
    const key = `${kind}|${plan.shape}`;
    let statement = this.queries.get(key);
    if (!statement) {
      // Shapes come from code, so few exist; the cap only guards against a caller building unbounded any-of lists.
      if (this.queries.size >= QUERY_CACHE_LIMIT) {
        this.queries.delete(this.queries.keys().next().value as string);
      }
      statement = this.db.prepare(querySql(this.aggregate, plan, kind));
      if (kind === 'count') statement.pluck();
      this.queries.set(key, statement);
    }
    return statement;
  }
}

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

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

function checkId(aggregate: AnyAggregate, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new StoreError(`${aggregate.name}: id must be a non-empty string`);
  }
  return id;
}

function checkVersion(aggregate: AnyAggregate, version: unknown): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new StoreError(`${aggregate.name}: expectedVersion must be a positive integer`);
  }
  return version;
}

/**
 * SQLite adapter of the store port.
 *
 * Transactions are `BEGIN IMMEDIATE ... COMMIT` held across awaits, so one
 * connection runs one at a time behind an async lock; calls outside a
 * transaction take the same lock, so they never land inside another's open
 * transaction. Across connections (processes) SQLite's write lock serialises
 * writers; we wait for it asynchronously rather than through busy_timeout,
 * which would block the event loop and with it the holder if it lives in
 * this process.
 */
export class SqliteStore implements Store {
  readonly system = 'sqlite';
  readonly outbox: OutboxStore;

  private readonly db: Database.Database;
  private readonly lock = new AsyncLock();
  private readonly context = new AsyncLocalStorage<TxState>();
  private readonly tables = new Map<string, AggregateTable>();
  /** Reading back a document this connection wrote skips the schema check. */
  private readonly written = new WrittenDocuments();
  /** The relay's pass reads what this connection enqueued from here, not from the table. */
  private readonly committedOutbox = new CommittedOutbox();
  private sentDeleteTimer: NodeJS.Timeout | undefined;
  private readonly onError: (error: Error) => void;
  private readonly listeners = new Set<() => void>();
  private readonly busyTimeoutMs: number;
  private readonly maxGroupMembers: number;
  private readonly maxGroupDelayMs: number;
  /** The SQLite transaction open across lock holders, when one is. */
  private group: CommitGroup | undefined;
  private checkpointer: WalCheckpointer | undefined;
  /** Lease expiry per owner this process holds, to skip renewals that are not due. */
  private readonly leases = new Map<string, number>();
  private readonly inboxRetentionMs: number | null;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closing?: Promise<void>;
  private closed = false;

  private readonly s: {
    begin: Statement;
    commit: Statement;
    rollback: Statement;
    savepoint: Statement;
    releaseSavepoint: Statement;
    rollbackToSavepoint: Statement;
    busyNow: Statement;
    busyWait: Statement;
    ping: Statement;
    dataVersion: Statement;
    claim: Statement;
    enqueue: Statement;
    pending: Statement;
    sent: Statement;
    failed: Statement;
    lease: Statement;
    release: Statement;
    pruneInbox: Statement;
  };

  private constructor(options: SqliteStoreOptions) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.maxGroupMembers = Math.max(1, Math.floor(options.commitGroup?.maxMembers ?? 64));
    this.maxGroupDelayMs = Math.max(0, options.commitGroup?.maxDelayMs ?? 2);
    this.onError = options.onError ?? (() => undefined);
    const retention =
      options.inboxRetentionMs === undefined ? 7 * DAY_MS : options.inboxRetentionMs;
    if (retention !== null && !(Number.isFinite(retention) && retention > 0)) {
      throw new StoreError(
        `sqlite: inboxRetentionMs must be a positive number or null, got ${retention}`,
      );
    }
    this.inboxRetentionMs = retention;
    this.db = new Database(options.filename, { timeout: this.busyTimeoutMs });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      const onDisk = options.filename !== ':memory:' && options.filename !== '';
      const checkpointIntervalMs = options.checkpointIntervalMs ?? 250;
      if (onDisk && checkpointIntervalMs > 0) {
        this.db.pragma(`wal_autocheckpoint = ${SAFETY_NET_CHECKPOINT_PAGES}`);
        this.checkpointer = startWalCheckpointer(options.filename, {
          intervalMs: checkpointIntervalMs,
          busyTimeoutMs: this.busyTimeoutMs,
          onError: options.onError ?? (() => undefined),
        });
      }
      const db = this.db;
      this.s = {
        begin: db.prepare('BEGIN IMMEDIATE'),
        commit: db.prepare('COMMIT'),
        rollback: db.prepare('ROLLBACK'),
        savepoint: db.prepare('SAVEPOINT member'),
        releaseSavepoint: db.prepare('RELEASE member'),
        rollbackToSavepoint: db.prepare('ROLLBACK TO member'),
        busyNow: db.prepare('PRAGMA busy_timeout = 0'),
        busyWait: db.prepare(`PRAGMA busy_timeout = ${Math.floor(this.busyTimeoutMs)}`),
        ping: db.prepare('SELECT 1').pluck(),
        dataVersion: db.prepare('PRAGMA data_version').pluck(),
      } as typeof this.s;
    } catch (error) {
      void this.checkpointer?.stop();
      this.db.close();
      throw error;
    }
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

  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const store = new SqliteStore(options);
    try {
      await store.write(() => store.createInternalTables());
    } catch (error) {
      store.closed = true;
      await store.checkpointer?.stop();
      store.db.close();
      throw error;
    }
    if (store.inboxRetentionMs !== null) {
      const onError = options.onError ?? (() => undefined);
      store.pruneTimer = setInterval(
        () => void store.pruneInbox().catch((error: Error) => onError(error)),
        options.inboxPruneIntervalMs ?? 60_000,
      );
      store.pruneTimer.unref();
    }
    return store;
  }

  /**
   * Deletes inbox claims older than the retention, a chunk per write so
   * handlers' transactions run between chunks. Returns how many went.
   */
  async pruneInbox(now = Date.now()): Promise<number> {
    if (this.inboxRetentionMs === null || this.closing) return 0;
    const cutoff = now - this.inboxRetentionMs;
    let deleted = 0;
    for (;;) {
      const changes = await this.write(
        () => this.s.pruneInbox.run(cutoff, INBOX_PRUNE_CHUNK).changes,
      );
      deleted += changes;
      if (changes < INBOX_PRUNE_CHUNK || this.closing) return deleted;
    }
  }

  private createInternalTables(): void {
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
    Object.assign(this.s, {
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
    });
  }

  // ------------------------------------------------------------ public API

  repository<A extends AnyAggregate>(aggregate: A): RepositoryOf<A> {
    return this.makeRepository(aggregate, undefined);
  }

  transaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.write((state) => {
      const tx: Transaction = {
        repository: (aggregate) => this.makeRepository(aggregate, state),
        inbox: this.makeInbox(state),
        outbox: this.makeOutboxWriter(state),
      };
      return this.context.run(state, () => work(tx));
    });
  }

  async ping(): Promise<void> {
    this.checkEntry();
    if (this.s.ping.get() !== 1) throw new StoreError('sqlite: ping returned an unexpected value');
  }

  close(): Promise<void> {
    // Queued work runs first: the lock is FIFO and close joins the end of the queue.
    clearInterval(this.pruneTimer);
    clearTimeout(this.sentDeleteTimer);
    this.closing ??= this.lock.acquire().then(async (release) => {
      try {
        if (!this.group && this.committedOutbox.toDelete.size > 0) {
          // The sent rows' last chance to be deleted; if the lock is not ours, they are sent again later.
          await this.begin()
            .then(() => (this.group = new CommitGroup()))
            .catch((error: Error) => this.onError(error));
        }
        this.commitGroup();
        this.closed = true;
        this.listeners.clear();
        // The checkpointer's connection goes first, so this last one folds the WAL back in.
        await this.checkpointer?.stop();
        this.db.close();
      } finally {
        release();
      }
    });
    return this.closing;
  }

  // ------------------------------------------------------ execution paths

  /** Refuses new work once closing, and calls that would deadlock on our own open transaction. */
  private checkEntry(): void {
    if (this.closing) throw new StoreError('sqlite store is closed');
    if (this.context.getStore()?.active) {
      throw new StoreError(
        'called the store directly inside store.transaction(): use the tx argument ' +
          '(tx.repository, tx.inbox, tx.outbox); nested transactions are not supported',
      );
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('sqlite store is closed');
  }

  /** Takes the write lock of the file, waiting for other connections without blocking the event loop. */
  private async begin(): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let delay = 1;
    for (;;) {
      this.s.busyNow.run();
      try {
        this.s.begin.run();
        return;
      } catch (error) {
        if (!isBusy(error)) throw error;
      } finally {
        this.s.busyWait.run();
      }
      if (Date.now() >= deadline) {
        throw new StoreBusyError(
          `sqlite: another connection held the write lock for over ${this.busyTimeoutMs} ms`,
        );
      }
      // Jitter keeps competing processes from retrying in lockstep.
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** DDL rolled back with a transaction: make the next use check those tables again. */
  private forgetTables(names: readonly string[]): void {
    for (const name of names) this.tables.delete(name);
  }

  /**
   * One read under the lock, outside any transaction. With a group open it
   * reads the group's writes, so its answer waits for their commit; with
   * none it is a plain autocommit read that takes no write lock.
   */
  private async read<T>(fn: () => T): Promise<T> {
    this.checkEntry();
    const release = await this.lock.acquire();
    let group: CommitGroup | undefined;
    let result: T;
    try {
      this.checkOpen();
      result = fn();
      group = this.group;
      if (group) group.members += 1;
    } finally {
      this.settleGroup();
      release();
    }
    if (group) await group.committed;
    return result;
  }

  /**
   * A unit of writing work: a transaction, or one write on its own. It runs
   * in a savepoint of the open commit group (opening one when none is) and
   * resolves once the group has committed; when it throws, its savepoint
   * alone is rolled back and the error is rethrown at once.
   */
  private async write<T>(fn: (state: TxState) => T | Promise<T>): Promise<T> {
    this.checkEntry();
    const release = await this.lock.acquire();
    let group: CommitGroup;
    let result: T;
    try {
      this.checkOpen();
      if (!this.group) {
        await this.begin();
        this.group = new CommitGroup();
      }
      group = this.group;
      const state = new TxState();
      this.s.savepoint.run();
      try {
        result = await fn(state);
        state.active = false;
        this.s.releaseSavepoint.run();
      } catch (error) {
        state.active = false;
        this.undo(state, error);
        throw error;
      }
      group.members += 1;
      group.enqueued.push(...state.enqueued);
      group.touchedTables.push(...state.touchedTables);
    } finally {
      this.settleGroup();
      release();
    }
    await group.committed;
    return result;
  }

  /** Rolls back one member's savepoint; if SQLite already rolled back the whole transaction, fails the group. */
  private undo(state: TxState, cause: unknown): void {
    this.forgetTables(state.touchedTables);
    if (this.db.inTransaction) {
      try {
        this.s.rollbackToSavepoint.run();
        this.s.releaseSavepoint.run();
        return;
      } catch {
        // Fall through: the transaction is unusable, end it.
      }
    }
    this.abortGroup(cause);
  }

  /**
   * Called by every lock holder before it lets go: the group stays open when
   * someone is queued to join it and it is neither full nor old, and
   * commits otherwise, so a commit never waits for work that is not queued.
   */
  private settleGroup(): void {
    const group = this.group;
    if (!group) return;
    // Not held open for work that may come later in this turn: tried, it cost +15% CPU per
    // action and x3 p99 in bench:gates (likely a write transaction open nearly all the time,
    // so the WAL was seldom reset).
    const joinable =
      this.lock.hasWaiters &&
      !this.closing &&
      group.members < this.maxGroupMembers &&
      performance.now() - group.openedAt < this.maxGroupDelayMs;
    if (!joinable) this.commitGroup();
  }

  private commitGroup(): void {
    const group = this.group;
    if (!group) return;
    const deleted = this.deleteSentRows();
    try {
      this.s.commit.run();
    } catch (error) {
      for (const seq of deleted) this.committedOutbox.toDelete.add(seq);
      this.abortGroup(error);
      return;
    }
    this.group = undefined;
    if (group.enqueued.length > 0) this.committedOutbox.committed(group.enqueued);
    group.resolve();
    if (group.enqueued.length > 0) this.notifyEnqueued();
  }

  /**
   * Deletes the rows of sent entries in the open transaction, in a savepoint
   * of their own so a failure here costs the group nothing (they are tried
   * again with the next commit). Returns the seqs deleted.
   */
  private deleteSentRows(): number[] {
    const toDelete = this.committedOutbox.toDelete;
    if (toDelete.size === 0) return [];
    const seqs = [...toDelete];
    try {
      this.s.savepoint.run();
      try {
        this.s.sent.run(JSON.stringify(seqs));
        this.s.releaseSavepoint.run();
      } catch (error) {
        this.s.rollbackToSavepoint.run();
        this.s.releaseSavepoint.run();
        throw error;
      }
    } catch (error) {
      this.onError(error as Error);
      return [];
    }
    toDelete.clear();
    return seqs;
  }

  /** Rolls the open group back: every member that was waiting for its commit fails with `cause`. */
  private abortGroup(cause: unknown): void {
    const group = this.group;
    this.group = undefined;
    try {
      if (this.db.inTransaction) this.s.rollback.run();
    } catch {
      // Nothing more to undo: SQLite ended the transaction itself.
    }
    if (!group) return;
    this.forgetTables(group.touchedTables);
    group.reject(cause);
  }

  private notifyEnqueued(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure must not fail a transaction that already committed.
      }
    }
  }

  // ----------------------------------------------------------- aggregates

  private isReady(aggregate: AnyAggregate): boolean {
    const table = this.tables.get(aggregate.name);
    return !!table && aggregate.indexes.every((index) => table.indexes.has(index.join(',')));
  }

  /** Creates the table, generated columns and indexes the definition needs. Needs the write lock. */
  private ensureTable(aggregate: AnyAggregate, state: TxState): AggregateTable {
    let table = this.tables.get(aggregate.name);
    if (table && this.isReady(aggregate)) return table;
    state.touchedTables.push(aggregate.name);
    this.db.exec(createTableSql(aggregate));
    // 0: a plain column; 2 or 3: a generated one, as earlier versions of this adapter made them.
    const columns = new Map(
      (
        this.db.prepare(`PRAGMA table_xinfo(${quote(tableOf(aggregate))})`).all() as {
          name: string;
          hidden: number;
        }[]
      ).map((c) => [c.name, c.hidden]),
    );
    const fields = [...new Set([...(table?.fields ?? []), ...aggregate.fields])];
    let migrated = false;
    const added: string[] = [];
    for (const field of fields) {
      const kind = columns.get(columnOf(field));
      if (kind === 0) continue;
      if (kind !== undefined) {
        this.dropGeneratedColumn(aggregate, columnOf(field));
        migrated = true;
      }
      this.db.exec(addColumnSql(aggregate, field));
      added.push(field);
    }
    // One pass over the rows for all the new columns, not one per column.
    if (added.length > 0) this.db.exec(backfillColumnsSql(aggregate, added));
    // A migration dropped the indexes over the old columns: every known one is made again.
    const indexes = migrated ? [...(table?.indexes ?? [])].map((key) => key.split(',')) : [];
    for (const index of [...indexes, ...aggregate.indexes]) {
      this.db.exec(createIndexSql(aggregate, index));
    }
    if (!table || table.fields.length !== fields.length) {
      const known = table?.indexes ?? [];
      table = new AggregateTable(this.db, aggregate, fields);
      for (const key of known) table.indexes.add(key);
      this.tables.set(aggregate.name, table);
    }
    for (const index of aggregate.indexes) table.indexes.add(index.join(','));
    return table;
  }

  /** Drops a generated index column, and first every index over it. */
  private dropGeneratedColumn(aggregate: AnyAggregate, column: string): void {
    const t = quote(tableOf(aggregate));
    const indexes = this.db.prepare(`PRAGMA index_list(${t})`).all() as { name: string }[];
    for (const { name } of indexes) {
      const columns = this.db.prepare(`PRAGMA index_info(${quote(name)})`).all() as {
        name: string | null;
      }[];
      if (columns.some((c) => c.name === column)) this.db.exec(`DROP INDEX ${quote(name)}`);
    }
    this.db.exec(`ALTER TABLE ${t} DROP COLUMN ${quote(column)}`);
  }

  private makeRepository<A extends AnyAggregate>(
    aggregate: A,
    state: TxState | undefined,
  ): RepositoryOf<A> {
    type T = DocOf<A>;
    const stored = (row: Row): Stored<T> => {
      const raw: unknown = JSON.parse(row.body);
      return {
        id: row.id,
        version: row.version,
        doc: this.written.wrote(aggregate, row.id, row.body)
          ? (raw as T)
          : readDocument(aggregate, row.id, raw),
      };
    };
    const ops = {
      get: (table: AggregateTable, id: string): Stored<T> | undefined => {
        const row = table.get.get(checkId(aggregate, id)) as Row | undefined;
        return row && stored(row);
      },
      insert: (table: AggregateTable, input: unknown): Stored<T> => {
        const { id, doc } = prepareDocument(aggregate, input);
        const text = JSON.stringify(doc);
        if (!table.insert(id, text, doc)) {
          throw new DuplicateError(aggregate.name, id);
        }
        this.written.remember(aggregate, id, text);
        return { id, version: 1, doc };
      },
      update: (table: AggregateTable, input: unknown, expected: number): Stored<T> => {
        checkVersion(aggregate, expected);
        const { id, doc } = prepareDocument(aggregate, input);
        const text = JSON.stringify(doc);
        if (table.replace(id, text, doc, expected) === undefined) {
          throw new NotFoundError(aggregate.name, id);
        }
        this.written.remember(aggregate, id, text);
        return { id, version: expected + 1, doc };
      },
      upsert: (table: AggregateTable, input: unknown): Stored<T> => {
        const { id, doc } = prepareDocument(aggregate, input);
        const text = JSON.stringify(doc);
        let version = table.replace(id, text, doc);
        if (version === undefined) {
          table.insert(id, text, doc);
          version = 1;
        }
        this.written.remember(aggregate, id, text);
        return { id, version, doc };
      },
      delete: (table: AggregateTable, id: string, expected?: number): boolean => {
        checkId(aggregate, id);
        this.written.delete(aggregate, id);
        if (expected === undefined) return table.delete.run(id).changes === 1;
        checkVersion(aggregate, expected);
        if (table.deleteVersioned.run(id, expected).changes === 1) return true;
        const actual = table.version.get(id) as number | undefined;
        if (actual === undefined) return false;
        throw new ConcurrencyError(aggregate.name, id, expected, actual);
      },
      find: (table: AggregateTable, plan: QueryPlan): Stored<T>[] => {
        if (plan.matchesNothing) return [];
        const rows = table.query(plan, 'find').all(...queryParams(plan, 'find')) as Row[];
        return rows.map(stored);
      },
      count: (table: AggregateTable, plan: QueryPlan): number => {
        if (plan.matchesNothing) return 0;
        return table.query(plan, 'count').get(...queryParams(plan, 'count')) as number;
      },
    };

    // Inside a transaction: run at once (the lock is ours), creating the table if needed.
    // Outside: a read takes the lock; a write, or the first use of a table, joins a commit group.
    const run = <R>(isWrite: boolean, fn: (table: AggregateTable) => R): Promise<R> => {
      if (state) {
        if (!state.active) {
          return Promise.reject(
            new StoreError(
              `${aggregate.name}: the transaction this repository belongs to has ended`,
            ),
          );
        }
        try {
          return Promise.resolve(fn(this.ensureTable(aggregate, state)));
        } catch (error) {
          return Promise.reject(error);
        }
      }
      if (!isWrite && this.isReady(aggregate)) {
        return this.read(() => fn(this.tables.get(aggregate.name) as AggregateTable));
      }
      return this.write((writeState) => fn(this.ensureTable(aggregate, writeState)));
    };

    return {
      get: (id) => run(false, (table) => ops.get(table, id)),
      insert: (doc) => run(true, (table) => ops.insert(table, doc)),
      update: (doc, expectedVersion) =>
        run(true, (table) => ops.update(table, doc, expectedVersion)),
      upsert: (doc) => run(true, (table) => ops.upsert(table, doc)),
      delete: (id, expectedVersion) => run(true, (table) => ops.delete(table, id, expectedVersion)),
      find: (query?: FindQuery<string>) => {
        let plan: QueryPlan;
        try {
          plan = planQuery(aggregate, query);
        } catch (error) {
          return Promise.reject(error);
        }
        return run(false, (table) => ops.find(table, plan));
      },
      count: (query?: FilterQuery<string>) => {
        let plan: QueryPlan;
        try {
          plan = planQuery(aggregate, query);
        } catch (error) {
          return Promise.reject(error);
        }
        return run(false, (table) => ops.count(table, plan));
      },
    } as RepositoryOf<A>;
  }

  // ------------------------------------------------------- inbox, outbox

  private ended(): Promise<never> {
    return Promise.reject(new StoreError('the transaction has ended'));
  }

  private makeInbox(state: TxState): Inbox {
    return {
      claim: (consumer, eventId) => {
        if (!state.active) return this.ended();
        if (!consumer || !eventId) {
          return Promise.reject(new StoreError('inbox: consumer and eventId must be non-empty'));
        }
        return Promise.resolve(this.s.claim.run(consumer, eventId, Date.now()).changes === 1);
      },
    };
  }

  private makeOutboxWriter(state: TxState): OutboxWriter {
    return {
      enqueue: (topic, envelope, options?: EnqueueOptions) => {
        if (!state.active) return this.ended();
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

  private async pending(limit: number): Promise<OutboxEntry[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new StoreError('outbox: limit must be a positive integer');
    }
    this.checkEntry();
    this.checkOpen();
    const known = this.committedOutbox.pending(limit, this.s.dataVersion.get() as number);
    if (known) return known;
    // Rows marked sent but not deleted yet are skipped, so read enough to fill the batch anyway.
    const wanted = limit + this.committedOutbox.toDelete.size;
    const { rows, mark } = await this.read(() => ({
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
    this.checkEntry();
    this.checkOpen();
    this.committedOutbox.sent(seqs);
    this.sentDeleteTimer ??= setTimeout(() => {
      this.sentDeleteTimer = undefined;
      if (this.committedOutbox.toDelete.size === 0 || this.closing) return;
      // An empty unit of work: its commit carries the deletes.
      this.write(() => undefined).catch((error: Error) => this.onError(error));
    }, SENT_DELETE_DELAY_MS);
    this.sentDeleteTimer.unref();
  }

  private markFailed(id: string, error: string): Promise<void> {
    const message = error.slice(0, 2000);
    return this.write(() => {
      this.s.failed.run(message, Number(id));
    }).then(() => this.committedOutbox.failed(Number(id), message));
  }

  private async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.leases.get(owner);
    // Nobody can take an unexpired lease, so renewing before half of it is gone buys nothing.
    if (held !== undefined && held - now > ttlMs / 2) return true;
    const expiresAt = now + ttlMs;
    const won = await this.write(() => this.s.lease.run(owner, expiresAt, now).changes === 1);
    if (won) this.leases.set(owner, expiresAt);
    else this.leases.delete(owner);
    return won;
  }

  private async releaseLease(owner: string): Promise<void> {
    this.leases.delete(owner);
    if (this.closing) return;
    await this.write(() => {
      this.s.release.run(owner);
    });
  }
}

/** Opens (creating if needed) a SQLite store. */
export function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  return SqliteStore.open(options);
}
