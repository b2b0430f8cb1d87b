import type { QueryPlan } from '@leash/store';
import { indexPath } from './mongo-documents';

/*
 * The port's query plan as a MongoDB filter, sort and limit. The plan was
 * checked against the aggregate's indexes already (planQuery), so every
 * field here is indexed; ties are ordered by id in the sort's direction.
 */

export type MongoFilter = Record<string, unknown>;

export interface MongoQuery {
  readonly filter: MongoFilter;
  readonly sort: Record<string, 1 | -1>;
  readonly limit?: number;
}

export function toMongoQuery(plan: QueryPlan): MongoQuery {
  const filter: Record<string, Record<string, unknown> | null> = {};
  const on = (field: string): Record<string, unknown> => {
    const path = indexPath(field);
    const existing = filter[path];
    if (existing && typeof existing === 'object') return existing;
    const fresh: Record<string, unknown> = {};
    filter[path] = fresh;
    return fresh;
  };
  for (const condition of plan.conditions) {
    switch (condition.op) {
      case 'eq':
        on(condition.field).$eq = condition.value;
        break;
      case 'null':
        // Absent fields are stored as null: $eq null matches both, as the port asks.
        on(condition.field).$eq = null;
        break;
      case 'in':
        on(condition.field).$in = [...condition.values];
        break;
      default:
        on(condition.field)[`$${condition.op}`] = condition.value;
    }
  }
  const direction = plan.descending ? -1 : 1;
  const sort: Record<string, 1 | -1> = plan.orderBy
    ? { [indexPath(plan.orderBy)]: direction, _id: direction }
    : { _id: direction };
  return { filter, sort, ...(plan.limit !== undefined ? { limit: plan.limit } : {}) };
}
