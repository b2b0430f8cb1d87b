import type { AnyAggregate, IndexValue } from './aggregate';
import { QueryError } from './errors';

export type RangeBound = string | number;

/** A range on one indexed field. Strings compare by code unit: use UTC ISO timestamps (`...Z`). */
export interface RangeCondition<F extends string = string> {
  readonly field: F;
  readonly gt?: RangeBound;
  readonly gte?: RangeBound;
  readonly lt?: RangeBound;
  readonly lte?: RangeBound;
}

export interface FilterQuery<F extends string = string> {
  /** Equality on indexed fields; an array means any of; `null` matches null or absent. */
  readonly where?: { readonly [K in F]?: IndexValue | readonly Exclude<IndexValue, null>[] };
  readonly range?: RangeCondition<F>;
}

export interface FindQuery<F extends string = string> extends FilterQuery<F> {
  /** Sort field; ties (and a missing orderBy) are ordered by id in the same direction. */
  readonly orderBy?: F;
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
}

export const MAX_FIND_LIMIT = 10_000;

export type Condition =
  | { readonly op: 'eq'; readonly field: string; readonly value: string | number | boolean }
  | { readonly op: 'null'; readonly field: string }
  | {
      readonly op: 'in';
      readonly field: string;
      readonly values: readonly (string | number | boolean)[];
    }
  | {
      readonly op: 'gt' | 'gte' | 'lt' | 'lte';
      readonly field: string;
      readonly value: RangeBound;
    };

/** A validated, normalised query that adapters translate (SQL, a Mongo filter). */
export interface QueryPlan {
  readonly conditions: readonly Condition[];
  /** Undefined: order by id only. */
  readonly orderBy?: string;
  readonly descending: boolean;
  readonly limit?: number;
  /** True when the query cannot match anything (an empty any-of list). */
  readonly matchesNothing: boolean;
  /** The plan without its values, so adapters can cache one prepared statement per shape. */
  readonly shape: string;
}

function isScalar(value: unknown): value is string | number | boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

const RANGE_OPS = ['gt', 'gte', 'lt', 'lte'] as const;

/** Validates a query against the aggregate's indexes; throws QueryError naming the problem. */
export function planQuery(aggregate: AnyAggregate, query: FindQuery = {}): QueryPlan {
  const indexed = (field: string, role: string): string => {
    if (!aggregate.fields.includes(field)) {
      throw new QueryError(
        `${aggregate.name}: cannot ${role} "${field}": not an indexed field (indexed: ${aggregate.fields.join(', ') || 'none'})`,
      );
    }
    return field;
  };
  const conditions: Condition[] = [];
  let matchesNothing = false;
  // Sorted so that {a, b} and {b, a} share one cached statement.
  const where = Object.entries(query.where ?? {})
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [field, value] of where) {
    indexed(field, 'filter on');
    if (value === null) {
      conditions.push({ op: 'null', field });
    } else if (Array.isArray(value)) {
      if (!value.every(isScalar)) {
        throw new QueryError(
          `${aggregate.name}: "${field}" any-of values must be strings, finite numbers or booleans`,
        );
      }
      if (value.length === 0) matchesNothing = true;
      conditions.push({ op: 'in', field, values: [...value] });
    } else if (isScalar(value)) {
      conditions.push({ op: 'eq', field, value });
    } else {
      throw new QueryError(
        `${aggregate.name}: "${field}" must equal a string, finite number, boolean or null`,
      );
    }
  }
  if (query.range) {
    const field = indexed(query.range.field, 'range over');
    const bounds = RANGE_OPS.filter((op) => query.range?.[op] !== undefined);
    if (bounds.length === 0)
      throw new QueryError(`${aggregate.name}: range on "${field}" has no bound`);
    if (query.range.gt !== undefined && query.range.gte !== undefined) {
      throw new QueryError(`${aggregate.name}: range on "${field}" sets both gt and gte`);
    }
    if (query.range.lt !== undefined && query.range.lte !== undefined) {
      throw new QueryError(`${aggregate.name}: range on "${field}" sets both lt and lte`);
    }
    const types = new Set(bounds.map((op) => typeof query.range?.[op]));
    for (const op of bounds) {
      const value = query.range[op];
      if (!(typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)))) {
        throw new QueryError(
          `${aggregate.name}: range ${op} on "${field}" must be a string or a finite number`,
        );
      }
      conditions.push({ op, field, value });
    }
    // SQLite and MongoDB order mixed types differently; one type keeps both adapters alike.
    if (types.size > 1) {
      throw new QueryError(`${aggregate.name}: range bounds on "${field}" mix strings and numbers`);
    }
  }
  const orderBy = query.orderBy === undefined ? undefined : indexed(query.orderBy, 'order by');
  if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc') {
    throw new QueryError(`${aggregate.name}: order must be "asc" or "desc"`);
  }
  const limit = query.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_FIND_LIMIT)) {
    throw new QueryError(`${aggregate.name}: limit must be an integer from 1 to ${MAX_FIND_LIMIT}`);
  }
  const descending = query.order === 'desc';
  const shape = [
    conditions
      .map((c) => `${c.op}:${c.field}${c.op === 'in' ? `:${c.values.length}` : ''}`)
      .join('&'),
    `order:${orderBy ?? ''}:${descending ? 'desc' : 'asc'}`,
    limit === undefined ? 'all' : 'limit',
  ].join('|');
  return { conditions, orderBy, descending, limit, matchesNothing, shape };
}
