import type { AnyAggregate, Condition, QueryPlan } from '@leash/store';

/*
 * Representation: one table per aggregate (as MongoDB has one collection per
 * aggregate), `id` primary key, `version`, and the document as JSON text in
 * `body`. Each indexed field is a column `ix_<field>` holding what
 * `json_extract(body, '$.<field>')` gives, indexed as declared. The columns
 * have no declared type, so no affinity turns a string into a number when
 * comparing. A generic documents table would need one partial index per
 * aggregate and field and make every table scan span all aggregates.
 *
 * The columns are plain, written with the body, not generated from it: an
 * UPDATE rewrites the entries of every index over a column it may change, and
 * for a generated column that is every write of the body. Plain columns let
 * an update set only the columns whose values changed, so the common write
 * (the document changed, its indexed fields did not) touches no index. In
 * a micro-benchmark, such an update of a row with nine indexes cost about
 * 40 us with plain columns and about 210 us with generated ones, commit
 * included.
 */

export type SqlValue = string | number | null;

export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function tableOf(aggregate: Pick<AnyAggregate, 'name'>): string {
  return `agg_${aggregate.name}`;
}

export function columnOf(field: string): string {
  return `ix_${field}`;
}

export function indexNameOf(
  aggregate: Pick<AnyAggregate, 'name'>,
  fields: readonly string[],
): string {
  return `${tableOf(aggregate)}__${fields.join('__')}`;
}

export function createTableSql(aggregate: Pick<AnyAggregate, 'name'>): string {
  return `CREATE TABLE IF NOT EXISTS ${quote(tableOf(aggregate))} (
    id TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
  )`;
}

export function addColumnSql(aggregate: Pick<AnyAggregate, 'name'>, field: string): string {
  return `ALTER TABLE ${quote(tableOf(aggregate))} ADD COLUMN ${quote(columnOf(field))}`;
}

/** Fills index columns from the bodies of the rows already there, in one pass over the table. */
export function backfillColumnsSql(
  aggregate: Pick<AnyAggregate, 'name'>,
  fields: readonly string[],
): string {
  // Field names are checked identifiers (defineAggregate), safe inside the JSON path.
  const sets = fields.map((f) => `${quote(columnOf(f))} = json_extract(body, '$.${f}')`);
  return `UPDATE ${quote(tableOf(aggregate))} SET ${sets.join(', ')}`;
}

/** What `json_extract(body, '$.<field>')` gives for the document's field: its index column's value. */
export function indexValueOf(doc: Readonly<Record<string, unknown>>, field: string): SqlValue {
  const value = doc[field];
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return JSON.stringify(value);
}

/** Insert of a new document: id, body, then one value per field of `fields`, in order. */
export function insertSql(
  aggregate: Pick<AnyAggregate, 'name'>,
  fields: readonly string[],
): string {
  const columns = ['id', 'version', 'body', ...fields.map((f) => quote(columnOf(f)))];
  const values = ['?', '1', '?', ...fields.map(() => '?')];
  return `INSERT INTO ${quote(tableOf(aggregate))} (${columns.join(', ')})
    VALUES (${values.join(', ')}) ON CONFLICT (id) DO NOTHING`;
}

/**
 * Update of a document's body and of the index columns in `changed` only
 * (SQLite then leaves every other index alone). Parameters: body, the
 * changed values in order, id. The caller has checked the version, under
 * the write lock.
 */
export function updateSql(
  aggregate: Pick<AnyAggregate, 'name'>,
  changed: readonly string[],
): string {
  const sets = [
    'version = version + 1',
    'body = ?',
    ...changed.map((f) => `${quote(columnOf(f))} = ?`),
  ];
  return `UPDATE ${quote(tableOf(aggregate))} SET ${sets.join(', ')} WHERE id = ?`;
}

/** The stored version and index column values of one document, in `fields` order after the version (then the body, `withBody`). */
export function currentSql(
  aggregate: Pick<AnyAggregate, 'name'>,
  fields: readonly string[],
  withBody = false,
): string {
  const columns = [
    'version',
    ...fields.map((f) => quote(columnOf(f))),
    ...(withBody ? ['body'] : []),
  ];
  return `SELECT ${columns.join(', ')} FROM ${quote(tableOf(aggregate))} WHERE id = ?`;
}

/** `id` closes every index so ties in the sort order are resolved from the index too. */
export function createIndexSql(
  aggregate: Pick<AnyAggregate, 'name'>,
  fields: readonly string[],
): string {
  const columns = [...fields.map((f) => quote(columnOf(f))), 'id'].join(', ');
  return `CREATE INDEX IF NOT EXISTS ${quote(indexNameOf(aggregate, fields))}
    ON ${quote(tableOf(aggregate))} (${columns})`;
}

const OPERATORS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function conditionSql(condition: Condition): string {
  const column = quote(columnOf(condition.field));
  switch (condition.op) {
    case 'eq':
      return `${column} = ?`;
    case 'null':
      return `${column} IS NULL`;
    case 'in':
      return `${column} IN (${condition.values.map(() => '?').join(', ')})`;
    default:
      return `${column} ${OPERATORS[condition.op]} ?`;
  }
}

/** SQL for a plan's shape; its values come from `queryParams` in the same order. */
export function querySql(
  aggregate: Pick<AnyAggregate, 'name'>,
  plan: QueryPlan,
  kind: 'find' | 'count',
): string {
  const where =
    plan.conditions.length === 0 ? '' : ` WHERE ${plan.conditions.map(conditionSql).join(' AND ')}`;
  const table = quote(tableOf(aggregate));
  if (kind === 'count') return `SELECT count(*) AS n FROM ${table}${where}`;
  const direction = plan.descending ? 'DESC' : 'ASC';
  const order = plan.orderBy
    ? `${quote(columnOf(plan.orderBy))} ${direction}, id ${direction}`
    : `id ${direction}`;
  return `SELECT id, version, body FROM ${table}${where} ORDER BY ${order}${plan.limit === undefined ? '' : ' LIMIT ?'}`;
}

/** json_extract yields 1/0 for JSON booleans, and SQLite cannot bind booleans. */
function toSql(value: string | number | boolean): SqlValue {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

export function queryParams(plan: QueryPlan, kind: 'find' | 'count'): SqlValue[] {
  const params: SqlValue[] = [];
  for (const condition of plan.conditions) {
    if (condition.op === 'null') continue;
    if (condition.op === 'in') for (const value of condition.values) params.push(toSql(value));
    else params.push(toSql(condition.value));
  }
  if (kind === 'find' && plan.limit !== undefined) params.push(plan.limit);
  return params;
}
