import Database from 'better-sqlite3';
import {
  StoreError,
  WrittenDocuments,
  type AnyAggregate,
  type OutboxStore,
  type RepositoryOf,
  type Store,
  type Transaction,
} from '@leash/store';
import { startWalCheckpointer, type WalCheckpointer } from '@leash/sqlite-wal';
import { AggregateTables } from './aggregate-tables';
import { GroupCommit } from './group-commit';
import { InboxOutbox } from './inbox-outbox';
import { sqliteRepository, type RepositoryDeps } from './sqlite-repository';
import { StoreThreads } from './thread-notices';

/*
 * The SQLite adapter of the store port, put together from its parts, each in
 * a file of its own: the group commit (group-commit.ts: how units of work
 * reach the file), the aggregate tables and their migration
 * (aggregate-tables.ts), the repositories (sqlite-repository.ts), and the
 * inbox, outbox and relay lease (inbox-outbox.ts).
 */

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

const DAY_MS = 24 * 60 * 60 * 1000;

/** Pages of WAL after which SQLite checkpoints on this thread anyway: only a safety net with the worker. */
const SAFETY_NET_CHECKPOINT_PAGES = 10_000;

/** SQLite adapter of the store port. */
export class SqliteStore implements Store {
  readonly system = 'sqlite';
  readonly outbox: OutboxStore;

  private readonly db: Database.Database;
  private readonly commits: GroupCommit;
  private readonly tables: AggregateTables;
  private readonly messages: InboxOutbox;
  private readonly repositories: RepositoryDeps;
  private readonly ping_: Database.Statement;
  private checkpointer: WalCheckpointer | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private threads: StoreThreads | undefined;

  private constructor(options: SqliteStoreOptions) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    const onError = options.onError ?? (() => undefined);
    const retention =
      options.inboxRetentionMs === undefined ? 7 * DAY_MS : options.inboxRetentionMs;
    if (retention !== null && !(Number.isFinite(retention) && retention > 0)) {
      throw new StoreError(
        `sqlite: inboxRetentionMs must be a positive number or null, got ${retention}`,
      );
    }
    this.db = new Database(options.filename, { timeout: busyTimeoutMs });
    this.threads = StoreThreads.join(options.filename, () => this.messages.notifyEnqueued());
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      const onDisk = options.filename !== ':memory:' && options.filename !== '';
      const checkpointIntervalMs = options.checkpointIntervalMs ?? 250;
      if (onDisk && checkpointIntervalMs > 0) {
        this.db.pragma(`wal_autocheckpoint = ${SAFETY_NET_CHECKPOINT_PAGES}`);
        this.checkpointer = startWalCheckpointer(options.filename, {
          intervalMs: checkpointIntervalMs,
          busyTimeoutMs,
          onError,
        });
      }
      this.ping_ = this.db.prepare('SELECT 1').pluck();
      this.tables = new AggregateTables(this.db);
      this.commits = new GroupCommit(
        this.db,
        {
          busyTimeoutMs,
          maxMembers: Math.max(1, Math.floor(options.commitGroup?.maxMembers ?? 64)),
          maxDelayMs: Math.max(0, options.commitGroup?.maxDelayMs ?? 2),
          onError,
        },
        {
          beforeCommit: () => this.messages.deleteSentRows(),
          committed: (enqueued) => this.messages.committed(enqueued),
          enqueued: () => {
            this.messages.notifyEnqueued();
            this.threads?.enqueued();
          },
          unlocked: () => this.threads?.unlocked(),
          lockWait: this.threads ? (ms) => this.threads!.lockWait(ms) : undefined,
          rolledBack: (tables) => this.tables.forget(tables),
        },
      );
      this.messages = new InboxOutbox(this.db, this.commits, {
        inboxRetentionMs: retention,
        onError,
      });
    } catch (error) {
      this.threads?.leave();
      void this.checkpointer?.stop();
      this.db.close();
      throw error;
    }
    this.outbox = this.messages.outbox;
    this.repositories = {
      tables: this.tables,
      commits: this.commits,
      written: new WrittenDocuments(),
    };
  }

  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const store = new SqliteStore(options);
    try {
      await store.commits.write(() => store.messages.createTables());
    } catch (error) {
      await store.close();
      throw error;
    }
    if (options.inboxRetentionMs !== null) {
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
  pruneInbox(now = Date.now()): Promise<number> {
    return this.messages.pruneInbox(now);
  }

  repository<A extends AnyAggregate>(aggregate: A): RepositoryOf<A> {
    return sqliteRepository(aggregate, undefined, this.repositories);
  }

  transaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.commits.write((state) => {
      const tx: Transaction = {
        repository: (aggregate) => sqliteRepository(aggregate, state, this.repositories),
        inbox: this.messages.inbox(state),
        outbox: this.messages.writer(state),
      };
      return this.commits.within(state, () => work(tx));
    });
  }

  inOneCommit<R>(work: () => Promise<R>): Promise<R> {
    return this.commits.inOneCommit(work);
  }

  async ping(): Promise<void> {
    this.commits.checkEntry();
    if (this.ping_.get() !== 1) throw new StoreError('sqlite: ping returned an unexpected value');
  }

  close(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.threads?.leave();
    this.messages.stopTimer();
    return this.commits.close(
      () => this.messages.hasSentRows,
      async () => {
        this.messages.forgetListeners();
        // The checkpointer's connection goes first, so this last one folds the WAL back in.
        await this.checkpointer?.stop();
        this.db.close();
      },
    );
  }
}

/** Opens (creating if needed) a SQLite store. */
export function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  return SqliteStore.open(options);
}
