import type Database from 'better-sqlite3';
import { ConcurrencyError, type AnyAggregate, type QueryPlan } from '@leash/store';
import type { TxState } from './group-commit';
import {
  addColumnSql,
  backfillColumnsSql,
  columnOf,
  createIndexSql,
  createTableSql,
  currentSql,
  indexValueOf,
  insertSql,
  querySql,
  quote,
  tableOf,
  updateSql,
  type SqlValue,
} from './sqlite-sql';

/*
 * One table per aggregate, made on first use: its index columns and indexes,
 * with the migration of columns earlier versions made as generated ones, and
 * the prepared statements over it.
 */

type Statement = Database.Statement;

const QUERY_CACHE_LIMIT = 256;

/** Prepared statements of one aggregate's table, made once the table exists. */
export class AggregateTable {
  readonly get: Statement;
  /** [version, ...index column values, body] of one row: a read inside a unit that may write it back. */
  private readonly getCurrent: Statement;
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
    this.getCurrent = db.prepare(currentSql(aggregate, fields, true)).raw(true);
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
   * The row as `current` has it ([version, ...index column values]) and its
   * body, in one statement: what a unit of work reads when it may replace
   * the document later, so the replace need not read the row again.
   */
  read(id: string): { readonly current: SqlValue[]; readonly body: string } | undefined {
    const row = this.getCurrent.get(id) as SqlValue[] | undefined;
    if (!row) return undefined;
    return { current: row.slice(0, -1), body: row[row.length - 1] as string };
  }

  /**
   * Replaces the document's body, and the index columns whose values
   * changed, none other: SQLite rewrites an index only when its columns are
   * set. `known`: the row as this unit of work last read or wrote it (the
   * write lock held since), instead of reading it again. Returns the row as
   * it is now ([version, ...index column values]); undefined when there is no
   * such document. Throws ConcurrencyError when it is not at `expected`.
   */
  replace(
    id: string,
    text: string,
    doc: unknown,
    expected?: number,
    known?: readonly SqlValue[],
  ): SqlValue[] | undefined {
    const row = known ?? (this.current.get(id) as SqlValue[] | undefined);
    if (!row) return undefined;
    const version = row[0] as number;
    if (expected !== undefined && version !== expected) {
      throw new ConcurrencyError(this.aggregate.name, id, expected, version);
    }
    const values = this.valuesOf(doc);
    const changed: number[] = [];
    for (let i = 0; i < values.length; i++) if (values[i] !== row[i + 1]) changed.push(i);
    this.updateOf(changed).run(text, ...changed.map((i) => values[i]), id);
    return [version + 1, ...values];
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

/** The aggregate tables this connection knows exist, with every index their definitions name. */
export class AggregateTables {
  private readonly tables = new Map<string, AggregateTable>();

  constructor(private readonly db: Database.Database) {}

  isReady(aggregate: AnyAggregate): boolean {
    const table = this.tables.get(aggregate.name);
    return !!table && aggregate.indexes.every((index) => table.indexes.has(index.join(',')));
  }

  /** A table `isReady` said exists. */
  ready(aggregate: AnyAggregate): AggregateTable {
    return this.tables.get(aggregate.name) as AggregateTable;
  }

  /** DDL rolled back with a transaction: make the next use check those tables again. */
  forget(names: readonly string[]): void {
    for (const name of names) this.tables.delete(name);
  }

  /** Creates the table, its index columns and indexes the definition needs. Needs the write lock. */
  ensure(aggregate: AnyAggregate, state: TxState): AggregateTable {
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
}
