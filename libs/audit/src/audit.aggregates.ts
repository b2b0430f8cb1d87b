import { z } from 'zod';
import { defineAggregate, type DocOf } from '@leash/store';

/*
 * The audit log's documents. Never rename an aggregate: it names a table and
 * a collection holding live data. Entries are append-only (one per event,
 * keyed by its id); run summaries are derived from them for search.
 */

const Timestamp = z.string().min(1);
const Count = z.number().int().nonnegative();

const VersionsDoc = z.object({
  profile: z.number().int().positive().optional(),
  prompt: z.string().optional(),
  model: z.string().optional(),
  tools: z.string().optional(),
  policy: z.number().int().positive().optional(),
});

/** A gate's decision as the audit keeps it: what, why, by which versions, signed by which key. */
export const AuditDecision = z.object({
  gate: z.string().min(1),
  outcome: z.string().min(1),
  route: z.string().optional(),
  code: z.string().optional(),
  reason: z.string().optional(),
  policyId: z.string().optional(),
  policyVersion: z.number().int().optional(),
  signerKeyId: z.string().optional(),
  cap: z.string().optional(),
  reservationId: z.string().optional(),
  approvalId: z.string().optional(),
});
export type AuditDecision = z.infer<typeof AuditDecision>;

export const AuditEntryKind = z.enum([
  'task',
  'plan',
  'decision',
  'approval',
  'observation',
  'model',
  'usage',
  'alarm',
  'control',
  'dead_letter',
  'finish',
]);
export type AuditEntryKind = z.infer<typeof AuditEntryKind>;

export const AuditEntry = z.object({
  /** The event's id (dead letters: `dlq:<topic>:<partition>:<offset>`). */
  entryId: z.string().min(1),
  /** Null for events of no task (control, tenant alarms). */
  taskId: z.string().nullable(),
  tenantId: z.string().nullable(),
  agent: z.string().optional(),
  /** The agent's release (profile version) the event names: every action event of a task carries it. */
  release: z.number().int().positive().optional(),
  type: z.string().min(1),
  topic: z.string().min(1),
  /** The CloudEvents source: the service that produced the event. */
  source: z.string(),
  /** The event's own time; `recordedAt` is when the audit saw it. */
  time: Timestamp,
  recordedAt: Timestamp,
  kind: AuditEntryKind,
  summary: z.string(),
  actionId: z.string().optional(),
  tool: z.string().optional(),
  decision: AuditDecision.optional(),
  versions: VersionsDoc.optional(),
  costUsdMicros: Count.optional(),
  /** W3C traceparent it travelled with: the way from an audit line to its trace. */
  traceparent: z.string().optional(),
  /** The event's data as published (arguments, outputs): the audit must not paraphrase. */
  data: z.unknown(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const auditEntries = defineAggregate({
  name: 'audit_entries',
  schema: AuditEntry,
  id: (doc) => doc.entryId,
  indexes: [
    ['taskId', 'time'],
    ['tenantId', 'time'],
    ['type', 'time'],
  ],
});

export const RunStatus = z.enum([
  'running',
  'succeeded',
  'failed',
  'rejected',
  'escalated',
  'killed',
  'limit_exceeded',
]);
export type RunStatus = z.infer<typeof RunStatus>;

/** One task's run, kept current as its events arrive: what `leash runs search` reads. */
export const RunSummary = z.object({
  taskId: z.string().min(1),
  tenantId: z.string(),
  agent: z.string(),
  agentVersion: z.number().int().positive().optional(),
  status: RunStatus,
  /** Why a run did not succeed, as a class: a rejection code, `tool_<kind>`, or the status. Null while running or on success. */
  errorClass: z.string().nullable(),
  reason: z.string().optional(),
  startedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  /** The task's reported cost when finished; until then the usage recorded so far. */
  costUsdMicros: Count,
  usageUsdMicros: Count,
  inputTokens: Count,
  outputTokens: Count,
  /** Null until the run finishes. */
  latencyMs: z.number().nonnegative().nullable(),
  tools: z.array(z.string()),
  toolCalls: Count,
  rejections: Count,
  toolFailures: Count,
  lastRejection: z.string().optional(),
  lastToolError: z.string().optional(),
  versions: VersionsDoc,
  events: Count,
  updatedAt: Timestamp,
});
export type RunSummary = z.infer<typeof RunSummary>;

/*
 * Indexes for the searches operators run: a filter on status, tenant, agent
 * or error class with a time range, sorted by cost, latency or start.
 */
export const runSummaries = defineAggregate({
  name: 'audit_runs',
  schema: RunSummary,
  id: (doc) => doc.taskId,
  indexes: [
    ['status', 'costUsdMicros'],
    ['status', 'latencyMs'],
    ['status', 'startedAt'],
    ['tenantId', 'startedAt'],
    ['agent', 'startedAt'],
    ['errorClass', 'startedAt'],
    'costUsdMicros',
    'latencyMs',
    'startedAt',
  ],
});
export type RunSummaryDoc = DocOf<typeof runSummaries>;

/**
 * One row per tool a run used, with the run's search fields copied: a search
 * by tool is then an indexed query like the others (a list field cannot be
 * indexed).
 */
export const RunTool = z.object({
  taskId: z.string().min(1),
  tool: z.string().min(1),
  tenantId: z.string(),
  agent: z.string(),
  status: RunStatus,
  errorClass: z.string().nullable(),
  startedAt: Timestamp,
  costUsdMicros: Count,
  latencyMs: z.number().nonnegative().nullable(),
});
export type RunTool = z.infer<typeof RunTool>;

export const runTools = defineAggregate({
  name: 'audit_run_tools',
  schema: RunTool,
  id: (doc) => runToolId(doc.taskId, doc.tool),
  indexes: [
    ['tool', 'costUsdMicros'],
    ['tool', 'latencyMs'],
    ['tool', 'startedAt'],
    ['tool', 'status', 'costUsdMicros'],
    // Makes the other filters queryable on tool rows; the tool prefix does the narrowing.
    ['tool', 'tenantId', 'agent', 'errorClass'],
  ],
});

export function runToolId(taskId: string, tool: string): string {
  return JSON.stringify([taskId, tool]);
}

/**
 * A run drawn for the weekly sample review (`leash review`): queued when
 * sampled, scored when a person has answered the agent's rubric about it.
 * Operators' data beside the audit log, written by the CLI, never by an event.
 */
export const ReviewItem = z.object({
  runId: z.string().min(1),
  agent: z.string().min(1),
  tenantId: z.string(),
  /** The ISO week it was drawn in, e.g. 2026-W49. */
  week: z.string().regex(/^\d{4}-W\d{2}$/),
  sampledAt: Timestamp,
  /** random: drawn from the week's finished runs; flagged: a failure, always reviewed. */
  reason: z.enum(['random', 'flagged']),
  status: z.enum(['queued', 'scored']),
  runStatus: RunStatus,
  answers: z.record(z.string(), z.union([z.boolean(), z.number().int().min(1).max(5)])).optional(),
  note: z.string().max(10_000).optional(),
  reviewer: z.string().optional(),
  scoredAt: Timestamp.optional(),
  /** Scored and failed the rubric: a no, or a 1 or 2. */
  failed: z.boolean().default(false),
});
export type ReviewItem = z.infer<typeof ReviewItem>;

export const reviewItems = defineAggregate({
  name: 'audit_review_items',
  schema: ReviewItem,
  id: (doc) => doc.runId,
  indexes: [
    ['agent', 'status', 'week'],
    ['agent', 'week'],
  ],
});
