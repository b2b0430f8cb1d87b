import { TaskStatus, type TaskFinishedV1 } from '@leash/contracts';
import { defineAggregate } from '@leash/store';
import { z } from 'zod';

/** How one finished task went, by the release it ran on: what a canary is judged by. */
export const ReleaseOutcome = z.object({
  taskId: z.string().min(1),
  agent: z.string().min(1),
  release: z.number().int().positive(),
  status: TaskStatus,
  usdMicros: z.number().int().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  /** Tool calls proposed, and how many of them the policy denied. */
  proposed: z.number().int().nonnegative(),
  policyDenials: z.number().int().nonnegative(),
  finishedAt: z.iso.datetime({ offset: true }),
});
export type ReleaseOutcome = z.infer<typeof ReleaseOutcome>;

/** Never rename: it names a table and a collection. */
export const RELEASE_OUTCOMES = defineAggregate({
  name: 'planner_release_outcomes',
  schema: ReleaseOutcome,
  id: (doc) => doc.taskId,
  // By release for the canary watch; by agent alone for the cost guard's latest tasks.
  indexes: [
    ['agent', 'release', 'finishedAt'],
    ['agent', 'finishedAt'],
  ],
});

/** The outcome a tasks.finished event records. */
export function outcomeOf(finished: TaskFinishedV1): ReleaseOutcome {
  const steps = finished.trajectory;
  return {
    taskId: finished.taskId,
    agent: finished.agent.name,
    release: finished.agent.version,
    status: finished.status,
    usdMicros: finished.cost.usdMicros,
    durationMs: Math.max(0, Date.parse(finished.finishedAt) - Date.parse(finished.startedAt)),
    proposed: steps.filter((s) => s.kind === 'action').length,
    policyDenials: steps.filter((s) => s.kind === 'rejection' && s.gate === 'policy').length,
    finishedAt: finished.finishedAt,
  };
}
