import { z } from 'zod';
import { AgentRef, Gate, RejectionCode, Versions } from '@leash/contracts';
import { defineAggregate } from '@leash/store';

/*
 * The policy gate's own state. Never rename an aggregate: it names a table
 * and a collection.
 */

const Timestamp = z.iso.datetime({ offset: true });

/** What a task has proposed so far: for loop detection and the `priorCalls` facts. */
export const TaskActivity = z.object({
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  total: z.number().int().nonnegative(),
  /** Proposals per tool. */
  tools: z.record(z.string(), z.number().int().nonnegative()),
  /** Proposals per tool and canonical arguments (`tool:hash`). */
  calls: z.record(z.string(), z.number().int().nonnegative()),
  /** Amounts proposed per tool with an amount field (and per value of its amountPer arguments), summed: the `taskAmount` fact. */
  amounts: z.record(z.string(), z.number().nonnegative()).default({}),
  updatedAt: Timestamp,
});
export type TaskActivity = z.infer<typeof TaskActivity>;

export const taskActivity = defineAggregate({
  name: 'policy_task_activity',
  schema: TaskActivity,
  id: (doc) => activityId(doc.tenantId, doc.taskId),
  indexes: ['updatedAt'],
});

export function activityId(tenantId: string, taskId: string): string {
  return JSON.stringify([tenantId, taskId]);
}

/** Actions admitted per tenant, action class and minute: a fixed-window rate limit. */
export const RateWindow = z.object({
  tenantId: z.string().min(1),
  actionClass: z.string().min(1),
  /** Minutes since the epoch. */
  minute: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
});
export type RateWindow = z.infer<typeof RateWindow>;

export const rateWindows = defineAggregate({
  name: 'policy_rate_windows',
  schema: RateWindow,
  id: (doc) => rateWindowId(doc.tenantId, doc.actionClass, doc.minute),
  indexes: [['tenantId', 'actionClass', 'minute']],
});

export function rateWindowId(tenantId: string, actionClass: string, minute: number): string {
  return JSON.stringify([tenantId, actionClass, minute]);
}

/** One decision per action id, with the versions that made it: the gate's audit record. */
export const DecisionRecord = z.object({
  actionId: z.string().min(1),
  /** The proposal event that asked. */
  eventId: z.string().min(1),
  tenantId: z.string(),
  taskId: z.string().min(1),
  agent: AgentRef,
  tool: z.string().min(1),
  outcome: z.enum(['allow', 'approve', 'deny']),
  gate: Gate,
  code: RejectionCode.optional(),
  reason: z.string(),
  approvalsRequired: z.number().int().nonnegative(),
  determiningPolicies: z.array(z.string()),
  irreversibleLifted: z.boolean(),
  policyId: z.string().optional(),
  policyVersion: z.number().int().positive().optional(),
  versions: Versions,
  decidedAt: Timestamp,
  expiresAt: Timestamp.optional(),
});
export type DecisionRecord = z.infer<typeof DecisionRecord>;

export const decisionRecords = defineAggregate({
  name: 'policy_decisions',
  schema: DecisionRecord,
  id: (doc) => decisionId(doc.tenantId, doc.actionId),
  indexes: ['taskId', 'decidedAt'],
});

/** Action ids are unique per tenant; keying by both keeps one tenant from shadowing another. */
export function decisionId(tenantId: string, actionId: string): string {
  return JSON.stringify([tenantId, actionId]);
}

/** A proposal that arrived before the gate had seen everything its task's taint depends on. */
export const ParkedProposal = z.object({
  eventId: z.string().min(1),
  step: z.number().int().nonnegative(),
  /** The actions.proposed envelope, as validated at the edge. */
  event: z.record(z.string(), z.unknown()),
  /** Trace context to decide it under. */
  headers: z.record(z.string(), z.string()),
});
export type ParkedProposal = z.infer<typeof ParkedProposal>;

/**
 * What the gate has seen of a task's untrusted content (the task input, its
 * tool outputs and errors), so taint is the gate's own finding and not the
 * planner's word; and what it still waits for before it may decide. Dropped
 * when the task finishes.
 */
export const TaskTaint = z.object({
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  /** tasks.requested was recorded. Until then no proposal of the task is decided. */
  inputSeen: z.boolean(),
  /** Who asked, as the upstream system says (tasks.requested `requestedBy`), lower-cased. */
  requestedBy: z.string().optional(),
  /** Candidate values of every untrusted text, normalised (see @leash/taint). */
  values: z.array(z.string()),
  /** Values returned by a read tool called about the requester: what "verified" means. */
  verified: z.array(z.string()),
  /** Characters kept in `values` and `verified`: the record's bound counts these. */
  chars: z.number().int().nonnegative(),
  /** The record reached its bound and dropped values: every argument counts as tainted. */
  overflowed: z.boolean(),
  /** Actions the gate let through with no outcome yet: their step, and whether a read about the requester. */
  awaiting: z.record(
    z.string(),
    z.object({ step: z.number().int().nonnegative(), aboutRequester: z.boolean() }),
  ),
  parked: z.array(ParkedProposal),
  updatedAt: Timestamp,
});
export type TaskTaint = z.infer<typeof TaskTaint>;

export const taskTaint = defineAggregate({
  name: 'policy_task_taint',
  schema: TaskTaint,
  id: (doc) => activityId(doc.tenantId, doc.taskId),
  indexes: ['updatedAt'],
});
