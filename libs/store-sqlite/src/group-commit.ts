import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { StoreBusyError, StoreError, type OutboxEntry } from '@leash/store';
import { AsyncLock } from './async-lock';

/*
 * The group commit: how units of work (a transaction, or one write on its
 * own) reach the file. One connection runs one unit at a time behind an async
 * lock; units queued behind one another share one SQLite transaction, each in
 * a savepoint, and none resolves before that transaction commits.
 */

type Statement = Database.Statement;

/** Per unit of work: whether it may still be used, and what to undo. */
export class TxState {
  active = true;
  /** Outbox entries this unit wrote, for the relay once they commit. */
  readonly enqueued: OutboxEntry[] = [];
  /** Tables created or altered in this unit; forgotten if it rolls back. */
  readonly touchedTables: string[] = [];
}

/**
 * Units of work committed by one SQLite transaction, each in its own
 * savepoint. A member's result is held back until `committed` settles, so
 * nobody sees a write, or a read of one, that could still be rolled back.
 */
class CommitGroup {
  members = 0;
  /** Batches (inOneCommit) with work in this group still running: it may not commit before they end. */
  holds = 0;
  /** Why it was rolled back, for the batches that still hold it. */
  failure: unknown;
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

/** One inOneCommit call: the group its transactions joined, once the first one did. */
class Batch {
  group: CommitGroup | undefined;
}

/** What the rest of the store does around a commit. */
export interface GroupCommitHooks {
  /**
   * Runs in the open transaction just before COMMIT (the outbox deletes the
   * rows of sent entries there); returns what to hand back if COMMIT fails.
   */
  readonly beforeCommit: () => () => void;
  /** After COMMIT, before its members resolve, with the outbox entries the group wrote. */
  readonly committed: (enqueued: readonly OutboxEntry[]) => void;
  /** After the members resolved, when the group wrote outbox entries (the relay's cue). */
  readonly enqueued: () => void;
  /** A group or a member rolled back: the tables it created or altered are unknown again. */
  readonly rolledBack: (tables: readonly string[]) => void;
  /** The write lock is free again (COMMIT or ROLLBACK): other threads waiting for it may go. */
  readonly unlocked?: () => void;
  /** Waits `ms` before trying another connection's write lock again; may end early when it is freed. */
  readonly lockWait?: (ms: number) => Promise<void>;
}

export interface GroupCommitOptions {
  /** How long to wait for another connection's write lock. */
  readonly busyTimeoutMs: number;
  /** A group closes at this many units of work... */
  readonly maxMembers: number;
  /** ...or this long after it opened, whichever comes first. */
  readonly maxDelayMs: number;
  /** A failure nobody awaits (the last commit at close). */
  readonly onError: (error: Error) => void;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/**
 * Transactions are `BEGIN IMMEDIATE ... COMMIT` held across awaits, so one
 * connection runs one at a time behind an async lock; calls outside a
 * transaction take the same lock, so they never land inside another's open
 * transaction. Across connections (processes) SQLite's write lock serialises
 * writers; we wait for it asynchronously rather than through busy_timeout,
 * which would block the event loop and with it the holder if it lives in
 * this process. So the connection's busy_timeout is 0 for good: a BEGIN or
 * a read that meets a lock fails at once and is tried again after a pause.
 * (In WAL mode a read meets one only while another connection recovers the
 * file; statements inside BEGIN IMMEDIATE hold the lock already.)
 */
export class GroupCommit {
  private readonly lock = new AsyncLock();
  private readonly context = new AsyncLocalStorage<TxState>();
  private readonly batches = new AsyncLocalStorage<Batch>();
  /** The SQLite transaction open across lock holders, when one is. */
  private group: CommitGroup | undefined;
  private closing?: Promise<void>;
  private closed = false;
  private readonly s: Record<
    'begin' | 'commit' | 'rollback' | 'savepoint' | 'releaseSavepoint' | 'rollbackToSavepoint',
    Statement
  >;

  constructor(
    private readonly db: Database.Database,
    private readonly options: GroupCommitOptions,
    private readonly hooks: GroupCommitHooks,
  ) {
    this.s = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT member'),
      releaseSavepoint: db.prepare('RELEASE member'),
      rollbackToSavepoint: db.prepare('ROLLBACK TO member'),
    };
    db.pragma('busy_timeout = 0');
  }

  /** True once close() has been called. */
  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /** Runs `work` with `state` as the current unit, so a direct store call inside it is caught. */
  within<R>(state: TxState, work: () => Promise<R>): Promise<R> {
    return this.context.run(state, work);
  }

  /**
   * Runs `fn` in a savepoint of its own inside the open transaction (the
   * outbox's deletes of sent rows): a failure rolls back that savepoint only.
   */
  inSavepoint(fn: () => void): void {
    this.s.savepoint.run();
    try {
      fn();
      this.s.releaseSavepoint.run();
    } catch (error) {
      this.s.rollbackToSavepoint.run();
      this.s.releaseSavepoint.run();
      throw error;
    }
  }

  /**
   * Closes once the queued work has run (the lock is FIFO and close joins the
   * end of the queue): commits the open group, with a last empty one when
   * `flushFirst` says the hooks have something to write, then `finish` runs.
   */
  close(flushFirst: () => boolean, finish: () => Promise<void>): Promise<void> {
    this.closing ??= this.lock.acquire().then(async (release) => {
      try {
        if (!this.group && flushFirst()) {
          // Its last chance; if the lock is not ours, it is done by a later open.
          await this.begin()
            .then(() => (this.group = new CommitGroup()))
            .catch((error: Error) => this.options.onError(error));
        }
        this.commitGroup();
        this.closed = true;
        await finish();
      } finally {
        release();
      }
    });
    return this.closing;
  }

  /** Refuses new work once closing, and calls that would deadlock on our own open transaction. */
  checkEntry(): void {
    if (this.closing) throw new StoreError('sqlite store is closed');
    if (this.context.getStore()?.active) {
      throw new StoreError(
        'called the store directly inside store.transaction(): use the tx argument ' +
          '(tx.repository, tx.inbox, tx.outbox); nested transactions are not supported',
      );
    }
  }

  checkOpen(): void {
    if (this.closed) throw new StoreError('sqlite store is closed');
  }

  /**
   * One read under the lock, outside any transaction. With a group open it
   * reads the group's writes, so its answer waits for their commit; with
   * none it is a plain autocommit read that takes no write lock.
   */
  async read<T>(fn: () => T): Promise<T> {
    return this.whenFree(() => this.readOnce(fn));
  }

  private async readOnce<T>(fn: () => T): Promise<T> {
    this.checkEntry();
    const release = await this.lock.acquire();
    let group: CommitGroup | undefined;
    let result: T;
    try {
      this.checkOpen();
      result = fn();
      group = this.group;
      // A batch reads its own writes; it would wait for itself to commit them.
      if (group && group === this.batches.getStore()?.group) group = undefined;
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
  async write<T>(fn: (state: TxState) => T | Promise<T>): Promise<T> {
    this.checkEntry();
    const batch = this.batches.getStore();
    let release = await this.lock.acquire();
    let group: CommitGroup;
    let result: T;
    try {
      this.checkOpen();
      if (batch?.group) {
        // Every transaction of a batch goes into the one group its first joined.
        if (batch.group !== this.group) {
          throw (
            batch.group.failure ??
            new StoreError('sqlite: the store committed a batch before it ended')
          );
        }
      } else {
        // A batch's first transaction joins a held group only while it is young: batches that
        // keep overlapping could otherwise hold one group open for ever.
        while (batch && this.group && this.group.holds > 0 && !this.young(this.group)) {
          const committed = this.group.committed;
          release();
          await committed.catch(() => undefined);
          release = await this.lock.acquire();
          this.checkOpen();
        }
        if (!this.group) {
          await this.begin();
          this.group = new CommitGroup();
        }
        if (batch) {
          batch.group = this.group;
          this.group.holds += 1;
        }
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
    // A batch's transaction is durable when its batch is, not before: inOneCommit waits for that.
    if (!batch) await group.committed;
    return result;
  }

  /**
   * Runs `work` so that every unit of work it starts joins one commit group,
   * which commits only after `work` resolved (see Store.inOneCommit). When
   * `work` rejects, the group is rolled back: what it ran, and the units of
   * others that shared the group (they fail with a transient error).
   */
  async inOneCommit<R>(work: () => Promise<R>): Promise<R> {
    this.checkEntry();
    if (this.batches.getStore()) throw new StoreError('sqlite: inOneCommit does not nest');
    const batch = new Batch();
    let result: R | undefined;
    let failed = false;
    let failure: unknown;
    try {
      result = await this.batches.run(batch, work);
    } catch (error) {
      failed = true;
      failure = error;
    }
    const group = batch.group;
    if (group) {
      const release = await this.lock.acquire();
      try {
        group.holds -= 1;
        if (this.group === group) {
          if (failed) {
            this.abortGroup(
              new StoreBusyError(
                'sqlite: rolled back with a batch that failed in the same commit; run it again',
              ),
            );
          } else {
            this.settleGroup();
          }
        }
      } finally {
        release();
      }
    }
    if (failed) throw failure;
    if (group) await group.committed;
    return result as R;
  }

  /** Neither full nor old: more work may join it. */
  private young(group: CommitGroup): boolean {
    return (
      group.members < this.options.maxMembers &&
      performance.now() - group.openedAt < this.options.maxDelayMs
    );
  }

  /** Takes the write lock of the file, waiting for other connections without blocking the event loop. */
  private begin(): Promise<void> {
    return this.whenFree(() => void this.s.begin.run());
  }

  /**
   * Runs `attempt` until it does not meet another connection's lock, pausing
   * in between (with jitter, so competing processes do not retry in
   * lockstep); past the busy timeout, a transient StoreBusyError.
   */
  private async whenFree<T>(attempt: () => T | Promise<T>): Promise<T> {
    const deadline = Date.now() + this.options.busyTimeoutMs;
    let delay = 1;
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (!isBusy(error)) throw error;
      }
      if (Date.now() >= deadline) {
        throw new StoreBusyError(
          `sqlite: another connection held the write lock for over ${this.options.busyTimeoutMs} ms`,
        );
      }
      // Jitter keeps competing processes from retrying in lockstep.
      const wait = delay * (0.5 + Math.random());
      await (this.hooks.lockWait?.(wait) ?? new Promise((resolve) => setTimeout(resolve, wait)));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Rolls back one member's savepoint; if SQLite already rolled back the whole transaction, fails the group. */
  private undo(state: TxState, cause: unknown): void {
    this.hooks.rolledBack(state.touchedTables);
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
    // A batch still running holds its group open: inOneCommit settles it when the batch ends.
    if (!group || group.holds > 0) return;
    // Not held open for work that may come later in this turn: tried, it cost +15% CPU per
    // action and x3 p99 in bench:gates (likely a write transaction open nearly all the time,
    // so the WAL was seldom reset).
    const joinable = this.lock.hasWaiters && !this.closing && this.young(group);
    if (!joinable) this.commitGroup();
  }

  private commitGroup(): void {
    const group = this.group;
    if (!group) return;
    const undoBeforeCommit = this.hooks.beforeCommit();
    try {
      this.s.commit.run();
    } catch (error) {
      undoBeforeCommit();
      this.abortGroup(error);
      return;
    }
    this.group = undefined;
    this.hooks.unlocked?.();
    if (group.enqueued.length > 0) this.hooks.committed(group.enqueued);
    group.resolve();
    if (group.enqueued.length > 0) this.hooks.enqueued();
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
    this.hooks.unlocked?.();
    if (!group) return;
    group.failure = cause;
    this.hooks.rolledBack(group.touchedTables);
    group.reject(cause);
  }
}
