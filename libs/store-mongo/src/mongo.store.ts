import { AsyncLocalStorage } from 'node:async_hooks';
import mongoose, { type mongo } from 'mongoose';
import type { AnyEnvelope } from '@leash/contracts';
import {
  StoreError,
  StoreUnavailableError,
  type AnyAggregate,
  type OutboxStore,
  type RepositoryOf,
  type Store,
  type Transaction,
} from '@leash/store';
import { collectionOf, indexSpecsOf, type MongoDocument } from './mongo-documents';
import {
  UpsertRace,
  hasLabel,
  isDuplicateKey,
  isWriteConflict,
  mapMongoError,
} from './mongo-errors';
import {
  INBOX,
  LEASES,
  OUTBOX,
  OUTBOX_KEYS,
  acquireLease,
  claim,
  enqueue,
  ensureOutboxIndexes,
  markFailed,
  markSent,
  pending,
  releaseLease,
  type OutboxCollections,
} from './mongo-outbox';
import { mongoRepository } from './mongo-repository';
import { transactionSupportProblem, type HelloReply } from './mongo-server';

/*
 * The MongoDB adapter of the store port, through mongoose. Mongoose holds
 * the connection (pool, TLS, timeouts, reconnection); the documents are the
 * aggregates' zod schemas already, so the adapter works on the driver's
 * collections that mongoose exposes rather than on mongoose models, which
 * would state every schema a second time.
 *
 * A transaction is a MongoDB multi-document transaction on a session, with
 * snapshot read concern and majority write concern. It is run again, whole,
 * when MongoDB labels an error TransientTransactionError (a write conflict,
 * an election), and its commit is retried on UnknownTransactionCommitResult;
 * both are bounded, after which the failure is StoreUnavailableError, which
 * the bus retries later instead of dead-lettering.
 */

export interface MongoStoreOptions {
  /** mongodb:// or mongodb+srv:// URL; TLS options may ride on it (`?tls=true`). */
  readonly url: string;
  /** Connections per process. Default 10. */
  readonly poolSize?: number;
  /** Server selection, connect and socket timeouts. Default 10 s. */
  readonly timeoutMs?: number;
  /** Force TLS on or off; default: what the URL says. */
  readonly tls?: boolean;
  /** Runs of a transaction's work before a persistent conflict is reported. Default 5. */
  readonly transactionAttempts?: number;
  /** How long inbox claims are kept (a TTL index). Default 7 days; null keeps them forever. */
  readonly inboxRetentionMs?: number | null;
  /**
   * False only to test what needs no transaction against a compatible server
   * that has none (FerretDB): the start-up check is skipped, and every
   * transaction then fails on the server. Never for a service.
   */
  readonly requireTransactions?: boolean;
}

const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1000;
const COMMIT_ATTEMPTS = 3;

interface TxState {
  active: boolean;
  enqueued: boolean;
  readonly session: mongo.ClientSession;
}

export class MongoStore implements Store {
  readonly system = 'mongodb';
  readonly outbox: OutboxStore;
  private readonly ready = new Map<string, Promise<mongo.Collection<MongoDocument>>>();
  private readonly listeners = new Set<() => void>();
  private readonly current = new AsyncLocalStorage<TxState>();
  private readonly running = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private readonly collections: OutboxCollections;

  private constructor(
    private readonly connection: mongoose.Connection,
    private readonly db: mongo.Db,
    private readonly attempts: number,
  ) {
    this.collections = {
      inbox: db.collection(INBOX),
      outbox: db.collection(OUTBOX),
      keys: db.collection(OUTBOX_KEYS),
      leases: db.collection(LEASES),
    };
    const collections = this.collections;
    const guarded = <R>(fn: () => Promise<R>) =>
      this.track(async () => {
        this.checkOpen();
        try {
          return await fn();
        } catch (error) {
          throw mapMongoError(error);
        }
      });
    this.outbox = {
      pending: (limit) => {
        if (!Number.isInteger(limit) || limit < 1) {
          return Promise.reject(new StoreError('outbox: limit must be a positive integer'));
        }
        return guarded(() => pending(collections, limit));
      },
      markSent: (ids) => guarded(() => markSent(collections, ids)),
      markFailed: (id, error) => guarded(() => markFailed(collections, id, error)),
      acquireLease: (owner, ttlMs) => guarded(() => acquireLease(collections, owner, ttlMs)),
      releaseLease: (owner) => guarded(() => releaseLease(collections, owner)),
      onEnqueued: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }

  /** Connects, refuses a server that cannot run transactions, and creates the store's own indexes. */
  static async open(options: MongoStoreOptions): Promise<MongoStore> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const connection = mongoose.createConnection(options.url, {
      maxPoolSize: options.poolSize ?? 10,
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
      socketTimeoutMS: timeoutMs * 3,
      autoIndex: false,
      autoCreate: false,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
    try {
      await connection.asPromise();
      const db = connection.db;
      if (!db) throw new StoreError('mongodb: the connection has no database');
      const hello = (await db.admin().command({ hello: 1 })) as HelloReply;
      const problem = transactionSupportProblem(hello);
      if (problem && options.requireTransactions !== false) {
        throw new StoreError(`LEASH_STORE=mongo: ${problem}`);
      }
      const store = new MongoStore(connection, db, options.transactionAttempts ?? 5);
      await ensureOutboxIndexes(
        store.collections,
        options.inboxRetentionMs === undefined ? SEVEN_DAYS_MS : options.inboxRetentionMs,
      );
      return store;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw mapMongoError(error);
    }
  }

  repository<A extends AnyAggregate>(aggregate: A): RepositoryOf<A> {
    return mongoRepository(aggregate, {
      collection: () => this.collectionFor(aggregate),
      check: () => {
        this.checkOpen();
        if (this.current.getStore()?.active) {
          throw new StoreError(
            'called the store directly inside store.transaction(): use the tx argument ' +
              '(tx.repository, tx.inbox, tx.outbox); nested transactions are not supported',
          );
        }
      },
    });
  }

  transaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    if (this.current.getStore()?.active) {
      return Promise.reject(new StoreError('nested transactions are not supported'));
    }
    return this.track(() => this.runTransaction(work));
  }

  async ping(): Promise<void> {
    this.checkOpen();
    try {
      await this.db.admin().command({ ping: 1 });
    } catch (error) {
      throw mapMongoError(error);
    }
  }

  /** Drops this store's database, every collection in it: for tests that made one of their own. */
  async dropDatabase(): Promise<void> {
    this.checkOpen();
    this.ready.clear();
    await this.db.dropDatabase();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.running]);
      this.listeners.clear();
      await this.connection.close();
    })();
    return this.closing;
  }

  private async runTransaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    this.checkOpen();
    for (let attempt = 1; ; attempt += 1) {
      const session = this.connection.getClient().startSession();
      const state: TxState = { active: true, enqueued: false, session };
      try {
        session.startTransaction({
          readConcern: { level: 'snapshot' },
          writeConcern: { w: 'majority' },
          readPreference: 'primary',
        });
        const result = await this.current.run(state, () => work(this.transactionView(state)));
        await this.commit(session);
        state.active = false;
        if (state.enqueued) this.notify();
        return result;
      } catch (error) {
        state.active = false;
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        // A duplicate key that reaches here raw is an upsert race (claim, outbox key counter):
        // an insert's duplicate was made DuplicateError by the repository, and passes as one.
        const conflict =
          isWriteConflict(error) ||
          hasLabel(error, 'TransientTransactionError') ||
          isDuplicateKey(error) ||
          error instanceof UpsertRace;
        if (conflict && attempt < this.attempts) continue;
        if (conflict) {
          throw new StoreUnavailableError(
            `mongodb: the transaction met a conflict ${attempt} times; it will be retried later`,
            { cause: error },
          );
        }
        throw mapMongoError(error);
      } finally {
        await session.endSession().catch(() => undefined);
      }
    }
  }

  private async commit(session: mongo.ClientSession): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await session.commitTransaction();
        return;
      } catch (error) {
        if (hasLabel(error, 'UnknownTransactionCommitResult') && attempt < COMMIT_ATTEMPTS)
          continue;
        throw error;
      }
    }
  }

  private transactionView(state: TxState): Transaction {
    const check = () => {
      if (!state.active) throw new StoreError('the transaction has ended');
    };
    const collections = this.collections;
    return {
      repository: <A extends AnyAggregate>(aggregate: A) =>
        mongoRepository(aggregate, {
          collection: () => this.collectionFor(aggregate),
          session: state.session,
          check,
        }),
      inbox: {
        claim: async (consumer, eventId) => {
          check();
          return claim(collections, state.session, consumer, eventId);
        },
      },
      outbox: {
        enqueue: async (topic, envelope, options) => {
          check();
          await enqueue(collections, state.session, topic, envelope as AnyEnvelope, options);
          state.enqueued = true;
        },
      },
    };
  }

  /** The aggregate's collection, created with its indexes on first use (idempotently). */
  private collectionFor(aggregate: AnyAggregate): Promise<mongo.Collection<MongoDocument>> {
    const name = collectionOf(aggregate);
    let ready = this.ready.get(name);
    if (!ready) {
      ready = (async () => {
        const collection = this.db.collection<MongoDocument>(name);
        const specs = indexSpecsOf(aggregate);
        // Collections are made outside any transaction: older servers cannot create one inside.
        if (specs.length > 0) await collection.createIndexes(specs);
        else
          await this.db.createCollection(name).catch((error: { code?: number }) => {
            if (error.code !== 48) throw error; // NamespaceExists
          });
        return collection;
      })();
      ready.catch(() => this.ready.delete(name));
      this.ready.set(name, ready);
    }
    return ready;
  }

  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure must not fail a transaction that already committed.
      }
    }
  }

  private checkOpen(): void {
    if (this.closing) throw new StoreError('the store is closed');
  }

  private track<R>(fn: () => Promise<R>): Promise<R> {
    let promise: Promise<R>;
    try {
      this.checkOpen();
      promise = fn();
    } catch (error) {
      return Promise.reject(error);
    }
    this.running.add(promise);
    const done = () => this.running.delete(promise);
    promise.then(done, done);
    return promise;
  }
}

export function openMongoStore(options: MongoStoreOptions): Promise<MongoStore> {
  return MongoStore.open(options);
}
