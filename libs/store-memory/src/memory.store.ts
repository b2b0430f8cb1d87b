import { AsyncLocalStorage } from 'node:async_hooks';
import type { AnyEnvelope, TopicName } from '@leash/contracts';
import {
  ConcurrencyError,
  DuplicateError,
  NotFoundError,
  StoreError,
  checkId,
  checkVersion,
  planQuery,
  prepareDocument,
  prepareOutboxRecord,
  readDocument,
  type AnyAggregate,
  type Condition,
  type DocOf,
  type EnqueueOptions,
  type FilterQuery,
  type FindQuery,
  type OutboxEntry,
  type OutboxStore,
  type QueryPlan,
  type RepositoryOf,
  type Store,
  type Stored,
  type Transaction,
} from '@leash/store';

/*
 * The store port in this process's memory: for unit specs, which need the
 * port's behaviour (it passes the same contract suite as SQLite) and not a
 * database. Nothing survives the process. Transactions run one after another
 * (a FIFO queue), their writes kept aside until they commit.
 */

/** A document as kept: its version and its JSON, so every read gets a copy of its own. */
interface Row {
  readonly version: number;
  readonly text: string;
}

interface OutboxRow {
  readonly topic: TopicName;
  readonly key: string;
  readonly envelope: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly enqueuedAt: string;
  attempts: number;
  lastError?: string;
}

/** What stores opened on one location share, as connections share a database. */
class MemoryData {
  readonly tables = new Map<string, Map<string, Row>>();
  /** `consumer NUL eventId`. */
  readonly claims = new Set<string>();
  /** By seq, oldest first (a Map keeps insertion order). */
  readonly outbox = new Map<number, OutboxRow>();
  seq = 0;
  lease: { owner: string; expiresAt: number } | undefined;
  /** The end of the queue of writing work: each unit starts when the one before it is done. */
  private tail: Promise<unknown> = Promise.resolve();

  table(name: string): Map<string, Row> {
    let table = this.tables.get(name);
    if (!table) {
      table = new Map();
      this.tables.set(name, table);
    }
    return table;
  }

  serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const DATABASES = new Map<string, MemoryData>();
let opened = 0;

/** One unit of writing work: its writes, kept aside until it commits. */
class Unit {
  active = true;
  /** Per table: the rows it wrote, `null` for a delete. */
  readonly rows = new Map<string, Map<string, Row | null>>();
  readonly claims = new Set<string>();
  readonly enqueued: OutboxRow[] = [];

  written(table: string): Map<string, Row | null> {
    let rows = this.rows.get(table);
    if (!rows) {
      rows = new Map();
      this.rows.set(table, rows);
    }
    return rows;
  }
}

type IndexValue = string | number | null;

/** An indexed field's value as SQLite's index column holds it: booleans 1/0, anything else JSON. */
function indexValue(value: unknown): IndexValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return JSON.stringify(value);
}

/** SQLite's order: NULL, then numbers, then strings (by code unit). */
function compare(a: IndexValue, b: IndexValue): number {
  const rank = (v: IndexValue) => (v === null ? 0 : typeof v === 'number' ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a === null || b === null || a === b) return 0;
  return a < b ? -1 : 1;
}

function matches(doc: Readonly<Record<string, unknown>>, condition: Condition): boolean {
  const value = indexValue(doc[condition.field]);
  switch (condition.op) {
    case 'null':
      return value === null;
    case 'eq':
      return value !== null && compare(value, indexValue(condition.value)) === 0;
    case 'in':
      return value !== null && condition.values.some((v) => compare(value, indexValue(v)) === 0);
    default: {
      if (value === null) return false;
      const order = compare(value, indexValue(condition.value));
      if (condition.op === 'gt') return order > 0;
      if (condition.op === 'gte') return order >= 0;
      if (condition.op === 'lt') return order < 0;
      return order <= 0;
    }
  }
}

export interface MemoryStoreOptions {
  /** Opens the data an earlier store of this location holds (as reopening a file would); a new one when absent. */
  readonly location?: string;
}

/** The store port in memory; see the top of this file. */
export class MemoryStore implements Store {
  readonly system = 'memory';
  readonly outbox: OutboxStore;
  readonly location: string;

  private readonly data: MemoryData;
  private readonly context = new AsyncLocalStorage<Unit>();
  private readonly listeners = new Set<() => void>();
  private closing?: Promise<void>;

  constructor(options: MemoryStoreOptions = {}) {
    this.location = options.location ?? `memory-${process.pid}-${++opened}`;
    let data = DATABASES.get(this.location);
    if (!data) {
      data = new MemoryData();
      DATABASES.set(this.location, data);
    }
    this.data = data;
    this.outbox = {
      pending: (limit) => this.pending(limit),
      markSent: (ids) => this.writing(() => this.markSent(ids)),
      markFailed: (id, error) => this.writing(() => this.markFailed(id, error)),
      acquireLease: (owner, ttlMs) => this.writing(() => this.acquireLease(owner, ttlMs)),
      // A relay stopping after close has nothing to release: the lease ends with the data.
      releaseLease: (owner) =>
        this.closing ? Promise.resolve() : this.writing(() => this.releaseLease(owner)),
      onEnqueued: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    };
  }

  /** Forgets a location's data: what deleting a file is to SQLite. */
  static drop(location: string): void {
    DATABASES.delete(location);
  }

  repository<A extends AnyAggregate>(aggregate: A): RepositoryOf<A> {
    return this.makeRepository(aggregate, undefined);
  }

  transaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.unit((unit) => {
      const tx: Transaction = {
        repository: (aggregate) => this.makeRepository(aggregate, unit),
        inbox: {
          claim: async (consumer, eventId) => {
            this.checkActive(unit);
            if (!consumer || !eventId) {
              throw new StoreError('inbox: consumer and eventId must be non-empty');
            }
            const key = `${consumer}\u0000${eventId}`;
            if (this.data.claims.has(key) || unit.claims.has(key)) return false;
            unit.claims.add(key);
            return true;
          },
        },
        outbox: {
          enqueue: async (topic, envelope, options?: EnqueueOptions) => {
            this.checkActive(unit);
            const record = prepareOutboxRecord(topic, envelope as AnyEnvelope, options);
            unit.enqueued.push({
              topic: record.topic,
              key: record.key,
              envelope: record.envelope,
              headers: { ...options?.headers },
              enqueuedAt: new Date().toISOString(),
              attempts: 0,
            });
          },
        },
      };
      return this.context.run(unit, () => work(tx));
    });
  }

  async ping(): Promise<void> {
    this.checkEntry();
  }

  close(): Promise<void> {
    // Queued work runs first: close joins the end of the queue.
    this.closing ??= this.data.serially(async () => {
      this.listeners.clear();
    });
    return this.closing;
  }

  // ------------------------------------------------------------ units of work

  private checkEntry(): void {
    if (this.closing) throw new StoreError('memory store is closed');
    if (this.context.getStore()?.active) {
      throw new StoreError(
        'called the store directly inside store.transaction(): use the tx argument ' +
          '(tx.repository, tx.inbox, tx.outbox); nested transactions are not supported',
      );
    }
  }

  private checkActive(unit: Unit): void {
    if (!unit.active) throw new StoreError('the transaction has ended');
  }

  /** Runs `work` after every unit queued before it; commits its writes when it resolves. */
  private async unit<R>(work: (unit: Unit) => Promise<R>): Promise<R> {
    this.checkEntry();
    const unit = new Unit();
    return this.data.serially(async () => {
      let result: R;
      try {
        result = await work(unit);
      } finally {
        unit.active = false;
      }
      this.commit(unit);
      return result;
    });
  }

  /** One write outside any transaction: a unit of its own. */
  private writing<T>(fn: () => T): Promise<T> {
    return this.unit(async () => fn());
  }

  private commit(unit: Unit): void {
    for (const [name, rows] of unit.rows) {
      const table = this.data.table(name);
      for (const [id, row] of rows) {
        if (row) table.set(id, row);
        else table.delete(id);
      }
    }
    for (const claim of unit.claims) this.data.claims.add(claim);
    for (const row of unit.enqueued) this.data.outbox.set(++this.data.seq, row);
    if (unit.enqueued.length > 0) {
      for (const listener of this.listeners) {
        try {
          listener();
        } catch {
          // A listener's failure must not fail a transaction that already committed.
        }
      }
    }
  }

  // ------------------------------------------------------------- documents

  private makeRepository<A extends AnyAggregate>(
    aggregate: A,
    unit: Unit | undefined,
  ): RepositoryOf<A> {
    type T = DocOf<A>;
    const name = aggregate.name;
    /** The row as this unit sees it: its own write, else the committed one. */
    const rowOf = (id: string, in_: Unit | undefined): Row | undefined => {
      const own = in_?.rows.get(name)?.get(id);
      if (own !== undefined) return own ?? undefined;
      return this.data.tables.get(name)?.get(id);
    };
    const stored = (id: string, row: Row): Stored<T> => ({
      id,
      version: row.version,
      doc: readDocument(aggregate, id, JSON.parse(row.text)),
    });
    /** Every row this unit sees, with its document parsed once. */
    const visible = (in_: Unit | undefined) => {
      const rows = new Map(this.data.tables.get(name));
      for (const [id, row] of in_?.rows.get(name) ?? []) {
        if (row) rows.set(id, row);
        else rows.delete(id);
      }
      return [...rows].map(([id, row]) => ({
        id,
        row,
        doc: JSON.parse(row.text) as Record<string, unknown>,
      }));
    };
    const select = (plan: QueryPlan, in_: Unit | undefined) => {
      if (plan.matchesNothing) return [];
      const found = visible(in_).filter(({ doc }) => plan.conditions.every((c) => matches(doc, c)));
      const direction = plan.descending ? -1 : 1;
      found.sort((a, b) => {
        const byField = plan.orderBy
          ? compare(indexValue(a.doc[plan.orderBy]), indexValue(b.doc[plan.orderBy]))
          : 0;
        return direction * (byField !== 0 ? byField : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      });
      return plan.limit === undefined ? found : found.slice(0, plan.limit);
    };
    const write = (in_: Unit, id: string, row: Row | null) => in_.written(name).set(id, row);

    const ops = {
      get: (in_: Unit | undefined, id: string) => {
        const row = rowOf(checkId(aggregate, id), in_);
        return row && stored(id, row);
      },
      insertIfAbsent: (in_: Unit, input: unknown): Stored<T> | undefined => {
        const { id, doc } = prepareDocument(aggregate, input);
        if (rowOf(id, in_)) return undefined;
        write(in_, id, { version: 1, text: JSON.stringify(doc) });
        return { id, version: 1, doc };
      },
      update: (in_: Unit, input: unknown, expected: number): Stored<T> => {
        checkVersion(aggregate, expected);
        const { id, doc } = prepareDocument(aggregate, input);
        const row = rowOf(id, in_);
        if (!row) throw new NotFoundError(name, id);
        if (row.version !== expected) throw new ConcurrencyError(name, id, expected, row.version);
        write(in_, id, { version: expected + 1, text: JSON.stringify(doc) });
        return { id, version: expected + 1, doc };
      },
      upsert: (in_: Unit, input: unknown): Stored<T> => {
        const { id, doc } = prepareDocument(aggregate, input);
        const version = (rowOf(id, in_)?.version ?? 0) + 1;
        write(in_, id, { version, text: JSON.stringify(doc) });
        return { id, version, doc };
      },
      delete: (in_: Unit, id: string, expected?: number): boolean => {
        checkId(aggregate, id);
        const row = rowOf(id, in_);
        if (expected !== undefined) checkVersion(aggregate, expected);
        if (!row) return false;
        if (expected !== undefined && row.version !== expected) {
          throw new ConcurrencyError(name, id, expected, row.version);
        }
        write(in_, id, null);
        return true;
      },
    };

    // Inside a transaction: at once, on its writes. Outside: a read sees what is committed;
    // a write is a unit of work of its own.
    const read = async <R>(fn: (in_: Unit | undefined) => R): Promise<R> => {
      if (unit) {
        if (!unit.active) {
          throw new StoreError(`${name}: the transaction this repository belongs to has ended`);
        }
        return fn(unit);
      }
      this.checkEntry();
      return fn(undefined);
    };
    const change = async <R>(fn: (in_: Unit) => R): Promise<R> => {
      if (unit) {
        if (!unit.active) {
          throw new StoreError(`${name}: the transaction this repository belongs to has ended`);
        }
        return fn(unit);
      }
      return this.unit(async (own) => fn(own));
    };

    return {
      get: (id) => read((in_) => ops.get(in_, id)),
      insert: (doc) =>
        change((in_) => {
          const inserted = ops.insertIfAbsent(in_, doc);
          if (!inserted) throw new DuplicateError(name, prepareDocument(aggregate, doc).id);
          return inserted;
        }),
      insertIfAbsent: (doc) => change((in_) => ops.insertIfAbsent(in_, doc)),
      update: (doc, expectedVersion) => change((in_) => ops.update(in_, doc, expectedVersion)),
      upsert: (doc) => change((in_) => ops.upsert(in_, doc)),
      delete: (id, expectedVersion) => change((in_) => ops.delete(in_, id, expectedVersion)),
      find: (query?: FindQuery<string>) =>
        read((in_) =>
          select(planQuery(aggregate, query), in_).map(({ id, row }) => stored(id, row)),
        ),
      count: (query?: FilterQuery<string>) =>
        read((in_) => select(planQuery(aggregate, query), in_).length),
    } as RepositoryOf<A>;
  }

  // ---------------------------------------------------------------- outbox

  private async pending(limit: number): Promise<OutboxEntry[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new StoreError('outbox: limit must be a positive integer');
    }
    this.checkEntry();
    const entries: OutboxEntry[] = [];
    for (const [seq, row] of this.data.outbox) {
      if (entries.length >= limit) break;
      entries.push({
        id: String(seq),
        topic: row.topic,
        key: row.key,
        envelope: JSON.parse(row.envelope) as AnyEnvelope,
        headers: { ...row.headers },
        enqueuedAt: row.enqueuedAt,
        attempts: row.attempts,
        ...(row.lastError !== undefined ? { lastError: row.lastError } : {}),
      });
    }
    return entries;
  }

  private markSent(ids: readonly string[]): void {
    const seqs = ids.map(Number);
    if (!seqs.every(Number.isSafeInteger)) {
      throw new StoreError('outbox: ids must be the ids pending() returned');
    }
    for (const seq of seqs) this.data.outbox.delete(seq);
  }

  private markFailed(id: string, error: string): void {
    const row = this.data.outbox.get(Number(id));
    if (!row) return;
    row.attempts += 1;
    row.lastError = error.slice(0, 2000);
  }

  private acquireLease(owner: string, ttlMs: number): boolean {
    const now = Date.now();
    const lease = this.data.lease;
    if (lease && lease.owner !== owner && lease.expiresAt > now) return false;
    this.data.lease = { owner, expiresAt: now + ttlMs };
    return true;
  }

  private releaseLease(owner: string): void {
    if (this.data.lease?.owner === owner) this.data.lease = undefined;
  }
}

/** A store in memory: a new one, or the data an earlier one of `location` holds. */
export async function openMemoryStore(options: MemoryStoreOptions = {}): Promise<MemoryStore> {
  return new MemoryStore(options);
}
