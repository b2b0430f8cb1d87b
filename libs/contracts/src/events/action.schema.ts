import { z } from 'zod';
import {
  ActionId,
  AgentRef,
  Gate,
  RiskClass,
  Route,
  Signature,
  Timestamp,
  ToolArguments,
  UsdMicros,
  Versions,
} from './common.schema';

/** What every action event repeats, so each gate can check exactly what it is asked to pass. */
const ActionCore = z.object({
  actionId: ActionId,
  agent: AgentRef,
  tool: z.string().min(1).max(100),
  arguments: ToolArguments,
});

export const ActionProposedV1 = ActionCore.extend({
  step: z.number().int().nonnegative(),
  reason: z.string().max(10_000).describe("The planner's stated reason, shown to reviewers."),
  tainted: z
    .array(z.string().max(10_000))
    .max(1_000)
    .default([])
    .describe('Values the planner has seen in untrusted tool output or task input.'),
  replaces: ActionId.optional().describe('Set when a reviewer edit re-proposes an earlier action.'),
  versions: Versions,
});
export type ActionProposedV1 = z.infer<typeof ActionProposedV1>;

export const PolicyDecision = z.object({
  route: Route,
  approvalsRequired: z.number().int().nonnegative(),
  reviewerGroup: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe(
      "The reviewer group a policy rule asks first (@reviewers); absent: the start of the agent's approval chain.",
    ),
  policyId: z.string().min(1),
  policyVersion: z.number().int().positive(),
  determiningPolicies: z.array(z.string()).default([]),
  reason: z.string().max(10_000),
  taintedArgs: z
    .array(z.string().max(200))
    .max(200)
    .default([])
    .describe(
      "Arguments whose values the policy gate found in untrusted text (its own taint finding, not the planner's), signed, shown to reviewers.",
    ),
  irreversibleLifted: z.boolean().default(false),
  signed: Signature,
});
export type PolicyDecision = z.infer<typeof PolicyDecision>;

export const ActionDecidedV1 = ActionCore.extend({
  step: z.number().int().nonnegative(),
  reason: z.string().max(10_000),
  riskClass: RiskClass,
  amountUsdMicros: UsdMicros.optional().describe(
    'For money-moving tools: the amount the action moves.',
  ),
  actionClass: z.string().min(1).describe('Bucket for per-class caps and rate limits.'),
  decision: PolicyDecision,
  versions: Versions,
});
export type ActionDecidedV1 = z.infer<typeof ActionDecidedV1>;

export const BudgetGrant = z.object({
  reservationId: z.string().min(1),
  reservedUsdMicros: UsdMicros,
  signed: Signature,
});
export type BudgetGrant = z.infer<typeof BudgetGrant>;

export const ActionFundedV1 = ActionDecidedV1.extend({ grant: BudgetGrant });
export type ActionFundedV1 = z.infer<typeof ActionFundedV1>;

export const Approval = z.object({
  approvalId: z.string().min(1),
  reviewers: z.array(z.string().min(1)).min(1),
  signed: Signature,
});
export type Approval = z.infer<typeof Approval>;

export const ActionAuthorizedV1 = ActionFundedV1.extend({ approval: Approval });
export type ActionAuthorizedV1 = z.infer<typeof ActionAuthorizedV1>;

export const RejectionCode = z.enum([
  'unknown_tool',
  'not_allowlisted',
  'invalid_arguments',
  'policy_denied',
  'loop_detected',
  'rate_limited',
  'cap_exceeded',
  'unpriced',
  'approval_rejected',
  'approval_expired',
  'edited',
  'invalid_signature',
  'expired',
  'replayed',
  'killed',
  'gate_unavailable',
  /** The task ended (killed, timed out, over a cap...) while the action waited: nothing runs for it. */
  'task_finished',
]);
export type RejectionCode = z.infer<typeof RejectionCode>;

export const ActionRejectedV1 = z.object({
  actionId: ActionId,
  agent: AgentRef,
  tool: z.string().min(1).max(100),
  gate: Gate,
  code: RejectionCode,
  reason: z.string().max(10_000).describe('Written for the planner to act on.'),
  feedback: z.string().max(10_000).optional().describe("A reviewer's words, passed to the model."),
  cap: z.string().optional().describe('The cap that stopped a budget rejection.'),
  replacedBy: ActionId.optional().describe('On an edit: the new action proposed in its place.'),
  signed: Signature.optional().describe(
    "The approvals gate's signature over the action hash and the code, on the rejections that tell the budget an action never ran (approval_rejected, approval_expired, edited, task_finished); the budget frees nothing on an unsigned one.",
  ),
  versions: Versions.default({}),
});
export type ActionRejectedV1 = z.infer<typeof ActionRejectedV1>;

export const ActionCompletedV1 = z.object({
  actionId: ActionId,
  agent: AgentRef,
  tool: z.string().min(1).max(100),
  status: z.enum(['succeeded', 'failed']),
  output: z.string().max(64_000).optional().describe('Tool output, size-capped. Untrusted.'),
  untrusted: z.literal(true).default(true),
  truncated: z.boolean().default(false),
  error: z
    .object({
      kind: z.enum(['semantic', 'transient', 'timeout', 'aborted']),
      message: z.string().max(10_000),
    })
    .optional(),
  attempts: z.number().int().positive(),
  durationMs: z.number().nonnegative(),
  replayed: z
    .boolean()
    .default(false)
    .describe('True when a stored result was returned instead of a run.'),
  completedAt: Timestamp,
});
export type ActionCompletedV1 = z.infer<typeof ActionCompletedV1>;
