import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ActionFundedV1, VerdictProvenBy, VerdictRefusal } from '@leash/contracts';
import { defineAggregate } from '@leash/store';

/*
 * The approval gate's own state. Never rename an aggregate: it names a table
 * and a collection.
 */

const Timestamp = z.iso.datetime({ offset: true });

export const ApprovalStatus = z.enum([
  /** Waiting for reviewers. */
  'pending',
  /** Enough distinct reviewers approved; actions.authorized was sent. Used, once. */
  'authorized',
  /** A reviewer rejected it, with feedback for the planner. */
  'rejected',
  /** A reviewer changed the arguments: a new proposal replaced it. */
  'edited',
  /** Nobody answered in time and no reviewer group was left to ask. */
  'expired',
  /** Nobody answered in time; the next group in the chain was asked under a new approval id. */
  'escalated',
  /** The task finished (killed, timed out, ...) while it waited: no verdict can run it now. */
  'cancelled',
]);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

export const GivenApproval = z.object({
  reviewer: z.string().min(1),
  verdictId: z.string().min(1),
  at: Timestamp,
  comment: z.string().optional(),
});

/**
 * One approval request: one action in front of one reviewer group. An
 * escalation closes it and opens the next stage under a new approval id, so
 * a verdict always names the group it was asked of.
 */
export const ApprovalRequest = z.object({
  approvalId: z.string().min(1),
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  actionId: z.string().min(1),
  /** What every verdict must name: actionHash of tenant, task, action id, tool and arguments. */
  actionHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Position in the chain; 0 is the first group asked. */
  stage: z.number().int().nonnegative(),
  /**
   * Who is asked, in order, and for how long each: the profile's chain (from the group the policy
   * named, if it named one) and TTL when the action arrived; later profile changes do not move a
   * running request.
   */
  chain: z.array(z.string().min(1)).min(1),
  ttlMs: z.number().int().positive(),
  reviewerGroup: z.string().min(1),
  reviewersRequired: z.number().int().positive(),
  status: ApprovalStatus,
  approvals: z.array(GivenApproval),
  /** The funded action as budget sent it: what actions.authorized repeats. */
  funded: ActionFundedV1,
  /** What the task had done when the request was made, as shown to reviewers. */
  history: z.array(z.string()),
  requestedAt: Timestamp,
  /** UTC, so string order is time order for the sweeper's range query. */
  expiresAt: Timestamp,
  closedAt: Timestamp.optional(),
  closedReason: z.string().optional(),
  /** On an edit: the action proposed in its place. */
  replacedBy: z.string().optional(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

export const approvalRequests = defineAggregate({
  name: 'approvals_requests',
  schema: ApprovalRequest,
  id: (doc) => doc.approvalId,
  indexes: [['status', 'expiresAt'], ['tenantId', 'status', 'expiresAt'], 'taskId'],
});

/**
 * The approval id of an action's stage. Derived, not random, so a funded
 * event delivered twice (or sent twice by budget) finds the request it made.
 */
export function approvalIdFor(tenantId: string, actionId: string, stage: number): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([tenantId, actionId, stage]))
    .digest('hex');
  return `apr_${digest.slice(0, 24)}`;
}

export const VerdictOutcome = z.enum(['accepted', 'refused']);
export type VerdictOutcome = z.infer<typeof VerdictOutcome>;

// The refusal codes are a wire contract: the gate publishes them on approvals.verdicts.
export { VerdictRefusal };

/** Every verdict received, accepted or refused, with why: the gate's audit of reviewers. */
export const VerdictRecord = z.object({
  verdictId: z.string().min(1),
  approvalId: z.string().min(1),
  /** The envelope's tenant and task, as the sender stated them. */
  tenantId: z.string().optional(),
  taskId: z.string().optional(),
  actionId: z.string().optional(),
  tool: z.string().optional(),
  reviewer: z.string().min(1),
  reviewerGroup: z.string().optional(),
  verdict: z.enum(['approve', 'reject', 'edit']),
  actionHash: z.string(),
  outcome: VerdictOutcome,
  refusal: VerdictRefusal.optional(),
  reason: z.string(),
  /** What proved the reviewer, when the verdict's proof verified. */
  provenBy: VerdictProvenBy.optional(),
  source: z.string(),
  receivedAt: Timestamp,
});
export type VerdictRecord = z.infer<typeof VerdictRecord>;

export const verdictRecords = defineAggregate({
  name: 'approvals_verdicts',
  schema: VerdictRecord,
  id: (doc) => doc.verdictId,
  indexes: ['approvalId', ['outcome', 'receivedAt']],
});

/**
 * Every verdict proof that verified, by the digest of its signature: a proof
 * is presented once. Another event carrying it (another approval, another
 * verdict id) is refused as replayed.
 */
export const VerdictProofUse = z.object({
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  verdictId: z.string().min(1),
  approvalId: z.string().min(1),
  reviewer: z.string().min(1),
  at: Timestamp,
});
export type VerdictProofUse = z.infer<typeof VerdictProofUse>;

export const verdictProofUses = defineAggregate({
  name: 'approvals_verdict_proofs',
  schema: VerdictProofUse,
  id: (doc) => doc.digest,
});

export const HISTORY_LIMIT = 50;

/** What a task has done, as this gate saw it: funded actions and reviewers' outcomes, newest last. */
export const TaskHistory = z.object({
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  entries: z.array(z.object({ at: Timestamp, line: z.string().max(2_000) })).max(HISTORY_LIMIT),
  /** Set once the task finished: no approval is asked for it any more. */
  finished: z.object({ status: z.string().min(1), at: Timestamp }).optional(),
  updatedAt: Timestamp,
});
export type TaskHistory = z.infer<typeof TaskHistory>;

export const taskHistories = defineAggregate({
  name: 'approvals_task_history',
  schema: TaskHistory,
  id: (doc) => taskHistoryId(doc.tenantId, doc.taskId),
  indexes: ['updatedAt'],
});

export function taskHistoryId(tenantId: string, taskId: string): string {
  return JSON.stringify([tenantId, taskId]);
}
