import type { AnyAggregate, Condition, QueryPlan } from '@leash/store';

/*
 * Representation: one table per aggregate (as MongoDB has one collection per
 * aggregate), `id` primary key, `version`, and the document as JSON text in
 * `body`. Each indexed field is a VIRTUAL generated column over `body`
 * (`ix_<field>`), indexed as declared. Nothing is written twice, old rows get
 * new indexes without a backfill (ALTER TABLE ADD COLUMN works for virtual
 * columns), and the columns have no declared type, so no affinity turns a
 * string into a number when comparing. A generic documents table would need
 * one partial index per aggregate and field and make every table scan span
 * all aggregates.
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
  // Field names are checked identifiers (defineAggregate), safe inside the JSON path.
  return `ALTER TABLE ${quote(tableOf(aggregate))} ADD COLUMN ${quote(columnOf(field))}
    GENERATED ALWAYS AS (json_extract(body, '$.${field}')) VIRTUAL`;
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
