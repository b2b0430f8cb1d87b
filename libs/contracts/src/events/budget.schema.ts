import { z } from 'zod';
import { ActionId, TaskId, Timestamp, UsdMicros } from './common.schema';
import { ActionDecidedV1 } from './action.schema';

const RequestBase = z.object({
  requestId: z.string().min(1).describe('Idempotency key of the reservation.'),
  taskId: TaskId,
  deadlineAt: Timestamp.describe('An unsettled reservation is charged in full at this time.'),
});

export const ModelBudgetRequest = RequestBase.extend({
  kind: z.literal('model'),
  model: z.string().min(1),
  estimate: z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
  }),
});

export const ActionBudgetRequest = RequestBase.extend({
  kind: z.literal('action'),
  actionId: ActionId,
  decided: ActionDecidedV1.describe('The policy decision being funded.'),
});

export const BudgetRequestedV1 = z.discriminatedUnion('kind', [
  ModelBudgetRequest,
  ActionBudgetRequest,
]);
export type BudgetRequestedV1 = z.infer<typeof BudgetRequestedV1>;

export const BudgetDecidedV1 = z.object({
  requestId: z.string().min(1),
  taskId: TaskId,
  kind: z.enum(['model', 'action']),
  granted: z.boolean(),
  reservationId: z.string().optional(),
  reservedUsdMicros: UsdMicros.optional(),
  reservedTokens: z.number().int().nonnegative().optional(),
  cap: z.string().optional().describe('The cap that refused the request.'),
  reason: z.string().max(10_000),
});
export type BudgetDecidedV1 = z.infer<typeof BudgetDecidedV1>;

export const CapUnit = z.enum(['usd_micros', 'tokens', 'tool_calls', 'count', 'ms']);

export const BudgetAlarmV1 = z.object({
  cap: z.string().min(1).describe('e.g. tenant.day.usd, task.tokens, class.purchase.amount'),
  scope: z.enum(['task', 'tenant_day', 'action']),
  scopeKey: z.string().min(1),
  unit: CapUnit,
  fraction: z.number().positive().max(1),
  used: z.number().nonnegative(),
  limit: z.number().nonnegative(),
  taskId: TaskId.optional(),
});
export type BudgetAlarmV1 = z.infer<typeof BudgetAlarmV1>;

/**
 * An operator changed where a tenant's days start. The change never opens a
 * fresh day early: the day counting when it was made keeps counting until
 * the later of the two zones' next midnights.
 */
export const TenantTimeZoneChangedV1 = z.object({
  from: z.string().min(1).describe('The zone in effect when the change was made.'),
  to: z.string().min(1).describe('The new IANA zone.'),
  countingDay: z
    .string()
    .min(1)
    .describe('The day (YYYY-MM-DD, in `from`) that keeps counting until effectiveAt.'),
  effectiveAt: Timestamp.describe("When the tenant's days start counting in `to`."),
  changedBy: z.string().min(1).max(200).describe('The operator who made the change.'),
  changedAt: Timestamp,
});
export type TenantTimeZoneChangedV1 = z.infer<typeof TenantTimeZoneChangedV1>;

export const UsageRecordedV1 = z.object({
  usageId: z.string().min(1).describe('Idempotency key of the settlement.'),
  taskId: TaskId,
  kind: z.enum(['model', 'tool']),
  reservationId: z.string().optional(),
  requestId: z.string().optional(),
  model: z.string().optional(),
  actionId: ActionId.optional(),
  inputTokens: z.number().int().nonnegative().default(0),
  outputTokens: z.number().int().nonnegative().default(0),
  usdMicros: UsdMicros,
  durationMs: z.number().nonnegative().optional(),
});
export type UsageRecordedV1 = z.infer<typeof UsageRecordedV1>;
