import type { Store } from '@leash/store';
import { runSummaries, runTools, type RunStatus, type RunSummary } from './audit.aggregates';

export type RunSort = 'cost' | 'latency' | 'started';

export interface RunSearch {
  readonly tenantId?: string;
  readonly agent?: string;
  readonly status?: RunStatus;
  readonly errorClass?: string;
  /** Runs that proposed this tool. */
  readonly tool?: string;
  /** Started at or after (UTC ISO). */
  readonly since?: string;
  /** Started before (UTC ISO). */
  readonly until?: string;
  /** Default `started`. */
  readonly sort?: RunSort;
  /** Default `desc`: the most expensive, slowest or newest first. */
  readonly order?: 'asc' | 'desc';
  /** Default 20. */
  readonly limit?: number;
}

export const DEFAULT_SEARCH_LIMIT = 20;

const SORT_FIELDS = {
  cost: 'costUsdMicros',
  latency: 'latencyMs',
  started: 'startedAt',
} as const;

/**
 * Finds runs by their summaries: one indexed query (equality filters, the
 * time range on the start, the sort, the limit) on the run summaries, or on
 * the per-tool rows when a tool is named, then the summaries of those rows.
 */
export async function searchRuns(store: Store, search: RunSearch = {}): Promise<RunSummary[]> {
  const where = {
    ...(search.tenantId !== undefined ? { tenantId: search.tenantId } : {}),
    ...(search.agent !== undefined ? { agent: search.agent } : {}),
    ...(search.status !== undefined ? { status: search.status } : {}),
    ...(search.errorClass !== undefined ? { errorClass: search.errorClass } : {}),
  };
  const range =
    search.since !== undefined || search.until !== undefined
      ? {
          field: 'startedAt' as const,
          ...(search.since !== undefined ? { gte: search.since } : {}),
          ...(search.until !== undefined ? { lt: search.until } : {}),
        }
      : undefined;
  const query = {
    orderBy: SORT_FIELDS[search.sort ?? 'started'],
    order: search.order ?? 'desc',
    limit: search.limit ?? DEFAULT_SEARCH_LIMIT,
    ...(range ? { range } : {}),
  } as const;

  if (search.tool === undefined) {
    const found = await store.repository(runSummaries).find({ ...query, where });
    return found.map((stored) => stored.doc);
  }
  const rows = await store
    .repository(runTools)
    .find({ ...query, where: { ...where, tool: search.tool } });
  const runs = store.repository(runSummaries);
  const summaries = await Promise.all(rows.map((row) => runs.get(row.doc.taskId)));
  return summaries.flatMap((stored) => (stored ? [stored.doc] : []));
}
