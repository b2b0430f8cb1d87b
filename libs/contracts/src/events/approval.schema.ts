import { z } from 'zod';
import {
  ActionId,
  AgentRef,
  RiskClass,
  Timestamp,
  ToolArguments,
  UsdMicros,
} from './common.schema';

export const ApprovalRequestedV1 = z.object({
  approvalId: z.string().min(1),
  actionId: ActionId,
  actionHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('The verdict binds to this hash.'),
  agent: AgentRef,
  tool: z.string().min(1),
  arguments: ToolArguments,
  reason: z.string().max(10_000).describe("The planner's stated reason."),
  riskClass: RiskClass,
  policy: z.object({
    policyId: z.string(),
    version: z.number().int().positive(),
    determiningPolicies: z.array(z.string()),
    reason: z
      .string()
      .max(10_000)
      .optional()
      .describe(
        "The policy decision's reason: the rules that sent the action to a human, and theirs.",
      ),
  }),
  reservedUsdMicros: UsdMicros,
  history: z.array(z.string().max(2_000)).max(200).describe('What the task has done so far.'),
  reviewersRequired: z.number().int().positive(),
  reviewerGroup: z.string().min(1),
  expiresAt: Timestamp,
});
export type ApprovalRequestedV1 = z.infer<typeof ApprovalRequestedV1>;

/**
 * Who vouches that the reviewer a verdict names sent it: the reviewer's own
 * Ed25519 key (its public key is in the reviewer directory), or a front end
 * the approvals service trusts (the web inbox, which signs its users in). The
 * signature covers the verdict's event id, tenant, task and every data field
 * but the proof itself, and the proof's own `by`, `keyId`, `frontEnd` and
 * `signedAt`: see libs/signing verdict-proof.ts. The approvals service refuses
 * a verdict without one (`unproven_reviewer`) or with one that does not verify
 * (`bad_proof`), and any proof presented before (`replayed`).
 */
export const VerdictProof = z.object({
  by: z.enum(['reviewer', 'front_end']),
  /** `ed25519:` and the first 16 hex digits of the SHA-256 of the raw public key. */
  keyId: z.string().min(1).max(200),
  /** The trusted front end that vouches, by its configured name; only with `by: front_end`. */
  frontEnd: z.string().min(1).max(200).optional(),
  signedAt: Timestamp,
  /** Ed25519 signature, base64. */
  signature: z.string().min(1).max(200),
});
export type VerdictProof = z.infer<typeof VerdictProof>;

const proof = VerdictProof.optional().describe(
  'Proof of who sent the verdict; the approvals service refuses a verdict without a valid one.',
);

export const ApprovalDecidedV1 = z.discriminatedUnion('verdict', [
  z.object({
    verdict: z.literal('approve'),
    approvalId: z.string().min(1),
    actionHash: z.string().regex(/^[0-9a-f]{64}$/),
    reviewer: z.string().min(1),
    comment: z.string().max(10_000).optional(),
    proof,
  }),
  z.object({
    verdict: z.literal('reject'),
    approvalId: z.string().min(1),
    actionHash: z.string().regex(/^[0-9a-f]{64}$/),
    reviewer: z.string().min(1),
    feedback: z.string().min(1).max(10_000),
    proof,
  }),
  z.object({
    verdict: z.literal('edit'),
    approvalId: z.string().min(1),
    actionHash: z.string().regex(/^[0-9a-f]{64}$/),
    reviewer: z.string().min(1),
    arguments: ToolArguments,
    comment: z.string().max(10_000).optional(),
    proof,
  }),
]);
export type ApprovalDecidedV1 = z.infer<typeof ApprovalDecidedV1>;

/** Why the approvals gate did not count a verdict. */
export const VerdictRefusal = z.enum([
  'unknown_approval',
  'tenant_mismatch',
  'hash_mismatch',
  'already_used',
  'closed',
  'expired',
  'unknown_reviewer',
  'inactive_reviewer',
  'not_in_group',
  'tool_not_allowed',
  'duplicate_reviewer',
  'killed',
  /** The verdict carries no proof of who sent it. */
  'unproven_reviewer',
  /** Its proof does not verify: unknown, revoked or wrong key, unknown front end, altered verdict. */
  'bad_proof',
  /** Its proof was presented before, with another verdict or the same one again. */
  'replayed',
]);
export type VerdictRefusal = z.infer<typeof VerdictRefusal>;

/** What an accepted verdict did: counted towards a quorum, or closed the request. */
export const VerdictEffect = z.enum(['counted', 'authorized', 'rejected', 'edited']);
export type VerdictEffect = z.infer<typeof VerdictEffect>;

/** What proved a verdict's reviewer, as the audit names it. */
export const VerdictProvenBy = z.object({
  by: z.enum(['reviewer', 'front_end']),
  keyId: z.string().min(1),
  frontEnd: z.string().min(1).optional(),
});
export type VerdictProvenBy = z.infer<typeof VerdictProvenBy>;

export const ApprovalVerdictRecordedV1 = z
  .object({
    approvalId: z.string().min(1),
    verdictId: z.string().min(1).describe('The id of the approvals.decided event this answers.'),
    reviewer: z.string().min(1),
    verdict: z.enum(['approve', 'reject', 'edit']),
    outcome: z.enum(['accepted', 'refused']),
    effect: VerdictEffect.optional().describe('An accepted verdict: what it did.'),
    refusal: VerdictRefusal.optional().describe('A refused verdict: why, as a code.'),
    reason: z.string().max(10_000).describe('The effect, or why the verdict was refused.'),
    actionId: ActionId.optional(),
    tool: z.string().min(1).optional(),
    reviewerGroup: z.string().min(1).optional().describe('The group the request was asking.'),
    provenBy: VerdictProvenBy.optional().describe(
      'What proved the reviewer, when the proof verified: their key, or a trusted front end.',
    ),
  })
  .refine((d) => (d.outcome === 'accepted' ? d.effect !== undefined : d.refusal !== undefined), {
    message: 'an accepted verdict names its effect, a refused one its refusal',
  });
export type ApprovalVerdictRecordedV1 = z.infer<typeof ApprovalVerdictRecordedV1>;
