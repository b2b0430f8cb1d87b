import { z } from 'zod';
import { defineAggregate, type DocOf } from '@leash/store';
import { isTimeZone } from './day-key';

/*
 * The ledger's documents. Never rename an aggregate: its name is a table
 * (SQLite) or a collection (MongoDB) holding live data.
 */

const Count = z.number().int().nonnegative();

const TallyDoc = z.object({ reserved: Count, settled: Count });

const CapLineDoc = z.object({
  cap: z.string().min(1),
  scope: z.enum(['task', 'tenant_day', 'action']),
  measure: z.enum(['tokens', 'usd', 'tool_calls', 'count', 'amount', 'elapsed']),
  limit: Count.optional(),
  amount: Count,
});

/**
 * What one scope has used: a task (for its lifetime) or a tenant's local day.
 * Alarms fired in the period are kept here so each fires once.
 */
export const BudgetCounter = defineAggregate({
  name: 'budget_counters',
  schema: z.object({
    id: z.string().min(1),
    scope: z.enum(['task', 'tenant_day']),
    tenantId: z.string().min(1),
    taskId: z.string().optional(),
    day: z.string().optional(),
    timeZone: z.string().optional(),
    /** The task's first budget request, ms since the epoch: its wall clock starts here. */
    startedAt: z.number().int().optional(),
    tallies: z.record(z.string(), TallyDoc),
    /** The latest limit seen per cap, for alarms on usage that arrives without a reservation. */
    limits: z.record(z.string(), Count),
    alarmFractions: z.array(z.number().positive().max(1)),
    fired: z.array(z.string()),
  }),
  id: (doc) => doc.id,
  indexes: ['tenantId'],
});
export type BudgetCounterDoc = DocOf<typeof BudgetCounter>;

export const RefusalCode = z.enum(['cap_exceeded', 'unpriced', 'expired', 'killed']);
export type RefusalCode = z.infer<typeof RefusalCode>;

/**
 * One budget request and what was decided, keyed by request id: a
 * redelivered request finds it and gets the same answer. A granted request
 * is a reservation until usage settles it or its deadline charges it.
 * The reservation id is the request id.
 */
export const BudgetReservation = defineAggregate({
  name: 'budget_reservations',
  schema: z.object({
    requestId: z.string().min(1),
    tenantId: z.string().min(1),
    taskId: z.string().min(1),
    kind: z.enum(['model', 'action']),
    model: z.string().optional(),
    actionId: z.string().optional(),
    actionClass: z.string().optional(),
    /** `released`: the action never ran (a later gate rejected it); nothing was spent. */
    status: z.enum(['refused', 'reserved', 'settled', 'charged', 'released']),
    day: z.string(),
    timeZone: z.string(),
    decidedAt: z.string(),
    /** UTC ISO (`...Z`), so the sweeper's range query compares correctly. */
    deadlineAt: z.string(),
    lines: z.array(CapLineDoc),
    alarmFractions: z.array(z.number().positive().max(1)),
    reservedUsdMicros: Count,
    reservedTokens: Count,
    /** Money the action moves; 0 for a model call. */
    amountUsdMicros: Count,
    /** `cap` names the cap that refused; a kill stops a request without one. */
    refusal: z
      .object({ code: RefusalCode, cap: z.string().min(1).optional(), reason: z.string() })
      .optional(),
    /** The event that answered the request, re-sent as is (same id) on a redelivery. */
    answer: z.object({ topic: z.string().min(1), envelope: z.record(z.string(), z.unknown()) }),
    settledAt: z.string().optional(),
    usageIds: z.array(z.string()),
  }),
  id: (doc) => doc.requestId,
  indexes: [['status', 'deadlineAt'], 'taskId'],
});
export type BudgetReservationDoc = DocOf<typeof BudgetReservation>;

/** Which agent a task runs, so a model request (which names only the task) finds its caps. */
export const BudgetTask = defineAggregate({
  name: 'budget_tasks',
  schema: z.object({
    taskId: z.string().min(1),
    tenantId: z.string().min(1),
    agent: z.string().min(1),
    agentVersion: z.number().int().positive().optional(),
  }),
  id: (doc) => doc.taskId,
});
export type BudgetTaskDoc = DocOf<typeof BudgetTask>;

/** Usage already booked, by usage id: a settlement is booked once. */
export const BudgetUsage = defineAggregate({
  name: 'budget_usages',
  schema: z.object({
    usageId: z.string().min(1),
    taskId: z.string().min(1),
    reservationId: z.string().optional(),
    bookedAt: z.string(),
  }),
  id: (doc) => doc.usageId,
});

/**
 * A tenant's settings; the time zone decides where its days start. A change
 * of zone is pending until `effectiveAt`: until then the day that was
 * counting when it was made (`countingDay`, in `previousTimeZone`) keeps
 * counting, so a change never opens a fresh day early.
 */
export const TenantSettings = defineAggregate({
  name: 'tenant_settings',
  schema: z.object({
    tenantId: z.string().min(1),
    timeZone: z.string().refine(isTimeZone, 'not an IANA time zone'),
    previousTimeZone: z.string().refine(isTimeZone, 'not an IANA time zone').optional(),
    countingDay: z.string().optional(),
    /** UTC ISO: when `timeZone` takes over from `previousTimeZone`. */
    effectiveAt: z.string().optional(),
    changedBy: z.string().optional(),
    changedAt: z.string().optional(),
  }),
  id: (doc) => doc.tenantId,
});
export type TenantSettingsDoc = DocOf<typeof TenantSettings>;

export const DEFAULT_TIME_ZONE = 'UTC';
