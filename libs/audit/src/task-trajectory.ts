import type { Store } from '@leash/store';
import { MAX_FIND_LIMIT } from '@leash/store';
import { auditEntries, runSummaries, type AuditEntry, type RunSummary } from './audit.aggregates';

export interface TaskTrajectory {
  readonly taskId: string;
  readonly run?: RunSummary;
  /** Every recorded event of the task, oldest first. */
  readonly entries: readonly AuditEntry[];
}

/** A task's whole audit trail: its run summary and every entry, in event time order. */
export async function taskTrajectory(store: Store, taskId: string): Promise<TaskTrajectory> {
  const [run, found] = await Promise.all([
    store.repository(runSummaries).get(taskId),
    store.repository(auditEntries).find({
      where: { taskId },
      orderBy: 'time',
      order: 'asc',
      limit: MAX_FIND_LIMIT,
    }),
  ]);
  return { taskId, run: run?.doc, entries: found.map((stored) => stored.doc) };
}
