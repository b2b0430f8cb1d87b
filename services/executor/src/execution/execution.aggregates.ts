import { z } from 'zod';
import { ActionCompletedV1, AgentRef, RejectionCode, RiskClass, Versions } from '@leash/contracts';
import { defineAggregate } from '@leash/store';

/** The stored result of a run: the data of the actions.completed it produced. */
export const RunResult = ActionCompletedV1;

export const Compensation = z.object({
  status: z.enum(['compensated', 'failed']),
  /** The undoing tool, e.g. cancel_purchase_order. */
  tool: z.string(),
  /** The undo's own idempotency key, so a retried rollback undoes once. */
  undoActionId: z.string(),
  reason: z.string(),
  at: z.string(),
  output: z.unknown().optional(),
  error: z.string().optional(),
});
export type Compensation = z.infer<typeof Compensation>;

/**
 * One per action id: the executor's idempotency record. `started` is written
 * before the tool is called, `completed` with the result (in the same
 * transaction as the actions.completed event). A run found `started` on
 * redelivery was interrupted by a crash: the tool is called again with the
 * same idempotency key, and the backend returns the first result.
 */
export const ActionRun = defineAggregate({
  name: 'executor_action_run',
  schema: z.object({
    actionId: z.string().min(1),
    tenantId: z.string().min(1),
    taskId: z.string().min(1),
    agent: AgentRef,
    tool: z.string().min(1),
    step: z.number().int().nonnegative(),
    riskClass: RiskClass,
    /** actionHash of what was authorized: a later event reusing the id for anything else is refused. */
    actionHash: z.string(),
    arguments: z.record(z.string(), z.unknown()),
    reservationId: z.string(),
    /** The event that first started the run. */
    eventId: z.string(),
    status: z.enum(['started', 'completed']),
    /** How many times the tool was started; above 1 only after a crash mid-run. */
    starts: z.number().int().positive(),
    startedAt: z.string(),
    completedAt: z.string().optional(),
    result: RunResult.optional(),
    /** The tool's full output, uncapped: what a compensation builds its arguments from. */
    output: z.unknown().optional(),
    compensation: Compensation.optional(),
  }),
  id: (run) => run.actionId,
  indexes: ['taskId', ['tenantId', 'status']],
});
export type ActionRunDoc = z.infer<typeof ActionRun.schema>;

/** What the executor decided and did, and why: refusals, runs, replays and undos. */
export const ExecutorAudit = defineAggregate({
  name: 'executor_audit',
  schema: z.object({
    auditId: z.string().min(1),
    /** The event that caused it (or the command, for a compensation). */
    eventId: z.string(),
    what: z.enum(['refused', 'ran', 'replayed', 'compensated', 'compensation_failed']),
    code: z.union([RejectionCode, z.string()]).optional(),
    reason: z.string(),
    actionId: z.string(),
    tenantId: z.string().optional(),
    taskId: z.string(),
    agent: AgentRef.optional(),
    tool: z.string(),
    versions: Versions.optional(),
    at: z.string(),
  }),
  id: (record) => record.auditId,
  indexes: ['actionId', 'taskId', 'what'],
});
export type ExecutorAuditDoc = z.infer<typeof ExecutorAudit.schema>;
