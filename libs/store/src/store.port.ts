import type { AnyEnvelope, Envelope, EventTypeOn, TopicName } from '@leash/contracts';
import type { AnyAggregate, DocOf, IndexedFieldOf, InputOf } from './aggregate';
import type { FilterQuery, FindQuery } from './query';

/** A document as stored: its id, its version (1 on insert, +1 per write) and the parsed body. */
export interface Stored<T> {
  readonly id: string;
  readonly version: number;
  readonly doc: T;
}

/**
 * Typed access to one aggregate's documents. Every write validates the
 * document with the aggregate's schema first; every read validates it again.
 * Every read returns documents of its own, shared with nobody: the caller may
 * change them in place (to write them back, say) without copying first.
 */
export interface Repository<T, In = T, F extends string = string> {
  get(id: string): Promise<Stored<T> | undefined>;
  /**
   * Version 1. Throws DuplicateError if the id exists. Inside a transaction a
   * DuplicateError ends it on some engines (MongoDB aborts the transaction on
   * a duplicate key): let it propagate, and to carry on past an existing id
   * use insertIfAbsent.
   */
  insert(doc: In): Promise<Stored<T>>;
  /**
   * Inserts at version 1 unless the id exists; undefined when it does, with
   * nothing written and the transaction as usable as before. How handlers
   * dedupe by id inside a transaction.
   */
  insertIfAbsent(doc: In): Promise<Stored<T> | undefined>;
  /**
   * Replaces the document if it is still at `expectedVersion`. Throws
   * ConcurrencyError when someone wrote since, NotFoundError when it is gone.
   */
  update(doc: In, expectedVersion: number): Promise<Stored<T>>;
  /** Insert or replace, whatever the current version (last writer wins). */
  upsert(doc: In): Promise<Stored<T>>;
  /** False if there was nothing to delete. With `expectedVersion`, a stale delete throws ConcurrencyError. */
  delete(id: string, expectedVersion?: number): Promise<boolean>;
  /** Equality, one range and ordering on indexed fields. Ties are ordered by id. */
  find(query?: FindQuery<F>): Promise<Stored<T>[]>;
  count(query?: FilterQuery<F>): Promise<number>;
}

export type RepositoryOf<A extends AnyAggregate> = Repository<
  DocOf<A>,
  InputOf<A>,
  IndexedFieldOf<A>
>;

/** Remembers which events a consumer has processed, in the same transaction as its effects. */
export interface Inbox {
  /**
   * True the first time; false when this consumer already claimed this event (skip it).
   * Adapters may forget claims once no redelivery can come any more (the SQLite one after
   * 7 days, the embedded bus's and Kafka's default retention).
   */
  claim(consumer: string, eventId: string): Promise<boolean>;
}

export interface EnqueueOptions {
  /** Headers to publish with, e.g. the trace context captured when the event was caused. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Writes events to publish, atomically with the transaction's state changes. */
export interface OutboxWriter {
  /**
   * Validates the envelope for the topic (type, data, partition key) and
   * stores it; throws EventValidationError so a bad event fails its
   * transaction instead of blocking the relay later.
   */
  enqueue<T extends TopicName>(
    topic: T,
    envelope: Envelope<EventTypeOn<T>>,
    options?: EnqueueOptions,
  ): Promise<void>;
}

export interface OutboxEntry {
  /** Opaque. Not an order: entries are ordered per partition key only. */
  readonly id: string;
  readonly topic: TopicName;
  /** The partition key the topic registry assigns; entries of one key must stay in order. */
  readonly key: string;
  readonly envelope: AnyEnvelope;
  readonly headers: Readonly<Record<string, string>>;
  readonly enqueuedAt: string;
  /** Failed publish attempts so far. */
  readonly attempts: number;
  readonly lastError?: string;
}

/** What the relay needs from the store. */
export interface OutboxStore {
  /**
   * Unsent entries, up to `limit`. Entries of one partition key come in the
   * order they were enqueued (commit order), and an entry never comes
   * without every earlier unsent entry of its key before it. Across keys
   * there is no promised order: a global insertion order would serialise
   * every writer on an engine with concurrent writers (MongoDB).
   */
  pending(limit: number): Promise<OutboxEntry[]>;
  /**
   * Removes published entries: pending() never returns them again. An adapter
   * may delete their rows later, with another commit; a crash before that
   * publishes them again, which consumers dedupe like any redelivery.
   */
  markSent(ids: readonly string[]): Promise<void>;
  /** Records a failed attempt; the entry stays pending. */
  markFailed(id: string, error: string): Promise<void>;
  /**
   * Takes or renews the relay lease for `ttlMs` if it is free, expired or
   * already `owner`'s. One relay publishes at a time across processes, which
   * avoids duplicate publishing; correctness does not depend on it.
   */
  acquireLease(owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(owner: string): Promise<void>;
  /** Called after a transaction that enqueued something commits in this process. Returns an unsubscribe. */
  onEnqueued(listener: () => void): () => void;
}

/** A transaction's view of the store: everything through it commits or rolls back together. */
export interface Transaction {
  repository<A extends AnyAggregate>(aggregate: A): RepositoryOf<A>;
  readonly inbox: Inbox;
  readonly outbox: OutboxWriter;
}

export interface Store {
  /** Engine name for logs and spans: `sqlite`, `mongodb`. */
  readonly system: string;
  /**
   * Repository outside any transaction: each call commits on its own. Calling
   * it from inside `transaction()` throws StoreError: use `tx.repository()`.
   */
  repository<A extends AnyAggregate>(aggregate: A): RepositoryOf<A>;
  /**
   * Runs `work` in one transaction: it commits when `work` resolves and rolls
   * back everything when it throws (the error is rethrown).
   *
   * Isolation is snapshot isolation: a transaction reads one snapshot, and
   * two transactions that write the same document conflict (one of them is
   * run again, or fails with ConcurrencyError). Two that only read what the
   * other writes do not conflict, so the rule is: decide only on documents
   * you write. A decision that rests on a document the transaction only
   * reads (a cap on a ledger, a quorum on an approval) must write that
   * document too, so a concurrent change of it conflicts. SQLite runs
   * transactions one after another, which is stronger; MongoDB gives no more
   * than this.
   *
   * `work` may be run more than once (MongoDB retries transient conflicts),
   * so it must have no effects outside `tx`: publish events with
   * `tx.outbox`, never directly.
   * It resolves only once its writes are durable; an adapter may commit it
   * together with transactions queued behind it (group commit), so `work`
   * must never wait for another transaction of the same store to finish.
   * Nested transactions are refused.
   */
  transaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R>;
  /**
   * Runs `work`, and every transaction it starts, as one commit: a batch of
   * events handled in one transaction. Inside, `transaction()` resolves once
   * its own work is done, before anything is durable, so the next one can
   * run; `inOneCommit` resolves once all of them are durable, together.
   * When `work` rejects, every transaction it ran is rolled back (work of
   * other callers sharing that commit fails with a transient error, to be
   * run again), and its error is rethrown. Reads outside a transaction see
   * the batch's writes. `work` must have no effect outside the store that
   * needs its transactions durable first (no tool calls, no model calls).
   * Optional: an adapter without it has no batches; callers run their work
   * one transaction at a time instead.
   */
  inOneCommit?<R>(work: () => Promise<R>): Promise<R>;
  readonly outbox: OutboxStore;
  /** Resolves when the engine answers; for readiness checks. */
  ping(): Promise<void>;
  /** Waits for running work, then closes. Idempotent. */
  close(): Promise<void>;
}
