import {
  ConcurrencyError,
  DuplicateError,
  NotFoundError,
  StoreError,
  checkId,
  checkVersion,
  planQuery,
  prepareDocument,
  readDocument,
  type AnyAggregate,
  type DocOf,
  type FilterQuery,
  type FindQuery,
  type QueryPlan,
  type RepositoryOf,
  type Stored,
  type WrittenDocuments,
} from '@leash/store';
import type { AggregateTable, AggregateTables } from './aggregate-tables';
import type { GroupCommit, TxState } from './group-commit';
import { queryParams, type SqlValue } from './sqlite-sql';

/**
 * Per unit of work: the rows it read or wrote ([version, ...index column
 * values]), by table and id. The unit holds the write lock from its first
 * statement to its last, so a row it saw is the row in the file until it
 * changes it itself; a replace then needs no read of its own.
 */
const SEEN = new WeakMap<TxState, Map<AggregateTable, Map<string, SqlValue[]>>>();

function seenIn(state: TxState, table: AggregateTable): Map<string, SqlValue[]> {
  let tables = SEEN.get(state);
  if (!tables) SEEN.set(state, (tables = new Map()));
  let rows = tables.get(table);
  if (!rows) tables.set(table, (rows = new Map()));
  return rows;
}

/*
 * The repository of one aggregate over its table: inside a transaction, or
 * each call a unit of work of its own.
 */

interface Row {
  readonly id: string;
  readonly version: number;
  readonly body: string;
}

/** What a repository works with; one per store. */
export interface RepositoryDeps {
  readonly tables: AggregateTables;
  readonly commits: GroupCommit;
  /** Reading back a document this connection wrote skips the schema check. */
  readonly written: WrittenDocuments;
}

/** `state`: the transaction it belongs to; undefined outside one. */
export function sqliteRepository<A extends AnyAggregate>(
  aggregate: A,
  state: TxState | undefined,
  { tables, commits, written }: RepositoryDeps,
): RepositoryOf<A> {
  type T = DocOf<A>;
  const stored = (row: Row): Stored<T> => {
    const raw: unknown = JSON.parse(row.body);
    return {
      id: row.id,
      version: row.version,
      doc: written.wrote(aggregate, row.id, row.body)
        ? (raw as T)
        : readDocument(aggregate, row.id, raw),
    };
  };
  // Inside a transaction, what the unit saw of each row; outside, nothing is kept.
  const seen = (table: AggregateTable) => (state ? seenIn(state, table) : undefined);
  const ops = {
    get: (table: AggregateTable, id: string): Stored<T> | undefined => {
      checkId(aggregate, id);
      const rows = seen(table);
      if (!rows) {
        const row = table.get.get(id) as Row | undefined;
        return row && stored(row);
      }
      const read = table.read(id);
      if (!read) return undefined;
      rows.set(id, read.current);
      return stored({ id, version: read.current[0] as number, body: read.body });
    },
    insert: (table: AggregateTable, input: unknown): Stored<T> => {
      const inserted = ops.insertIfAbsent(table, input);
      if (!inserted) throw new DuplicateError(aggregate.name, prepareDocument(aggregate, input).id);
      return inserted;
    },
    insertIfAbsent: (table: AggregateTable, input: unknown): Stored<T> | undefined => {
      const { id, doc } = prepareDocument(aggregate, input);
      const text = JSON.stringify(doc);
      if (!table.insert(id, text, doc)) return undefined;
      written.remember(aggregate, id, text);
      return { id, version: 1, doc };
    },
    update: (table: AggregateTable, input: unknown, expected: number): Stored<T> => {
      checkVersion(aggregate, expected);
      const { id, doc } = prepareDocument(aggregate, input);
      const text = JSON.stringify(doc);
      const rows = seen(table);
      const now = table.replace(id, text, doc, expected, rows?.get(id));
      if (now === undefined) throw new NotFoundError(aggregate.name, id);
      rows?.set(id, now);
      written.remember(aggregate, id, text);
      return { id, version: expected + 1, doc };
    },
    upsert: (table: AggregateTable, input: unknown): Stored<T> => {
      const { id, doc } = prepareDocument(aggregate, input);
      const text = JSON.stringify(doc);
      const rows = seen(table);
      const now = table.replace(id, text, doc, undefined, rows?.get(id));
      let version: number;
      if (now === undefined) {
        table.insert(id, text, doc);
        version = 1;
      } else {
        rows?.set(id, now);
        version = now[0] as number;
      }
      written.remember(aggregate, id, text);
      return { id, version, doc };
    },
    delete: (table: AggregateTable, id: string, expected?: number): boolean => {
      checkId(aggregate, id);
      written.delete(aggregate, id);
      seen(table)?.delete(id);
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
          new StoreError(`${aggregate.name}: the transaction this repository belongs to has ended`),
        );
      }
      try {
        return Promise.resolve(fn(tables.ensure(aggregate, state)));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (!isWrite && tables.isReady(aggregate)) {
      return commits.read(() => fn(tables.ready(aggregate)));
    }
    return commits.write((writeState) => fn(tables.ensure(aggregate, writeState)));
  };

  const planned = <R>(
    query: FindQuery<string> | undefined,
    fn: (plan: QueryPlan) => Promise<R>,
  ) => {
    let plan: QueryPlan;
    try {
      plan = planQuery(aggregate, query);
    } catch (error) {
      return Promise.reject(error);
    }
    return fn(plan);
  };

  return {
    get: (id) => run(false, (table) => ops.get(table, id)),
    insert: (doc) => run(true, (table) => ops.insert(table, doc)),
    insertIfAbsent: (doc) => run(true, (table) => ops.insertIfAbsent(table, doc)),
    update: (doc, expectedVersion) => run(true, (table) => ops.update(table, doc, expectedVersion)),
    upsert: (doc) => run(true, (table) => ops.upsert(table, doc)),
    delete: (id, expectedVersion) => run(true, (table) => ops.delete(table, id, expectedVersion)),
    find: (query?: FindQuery<string>) =>
      planned(query, (plan) => run(false, (table) => ops.find(table, plan))),
    count: (query?: FilterQuery<string>) =>
      planned(query, (plan) => run(false, (table) => ops.count(table, plan))),
  } as RepositoryOf<A>;
}
