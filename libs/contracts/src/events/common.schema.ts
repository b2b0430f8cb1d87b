import { z } from 'zod';

/** Identifiers are opaque, non-empty strings (UUIDs in practice); bounded so a bad producer cannot bloat a log. */
export const Id = z.string().min(1).max(200);
export const TenantId = Id.describe('The tenant that owns the task.');
export const TaskId = Id.describe('The task, unique across tenants.');
export const ActionId = Id.describe('One proposed tool call; also the idempotency key of its run.');
export const Timestamp = z.iso.datetime({ offset: true }).describe('RFC 3339 time.');

/** Money is counted in whole micro-dollars (1e-6 USD) so sums against caps are exact. */
export const UsdMicros = z.number().int().nonnegative().describe('US dollars x 1,000,000.');

export const RiskClass = z.enum(['read', 'write', 'irreversible']);
export type RiskClass = z.infer<typeof RiskClass>;

export const Route = z.enum(['allow', 'approve']);
export type Route = z.infer<typeof Route>;

export const AgentRef = z.object({
  name: z.string().min(1).max(100),
  version: z.number().int().positive(),
});
export type AgentRef = z.infer<typeof AgentRef>;

/** The versions that made a decision; every audit record carries them. */
export const Versions = z.object({
  profile: z.number().int().positive().optional(),
  prompt: z.string().optional(),
  model: z.string().optional(),
  tools: z.string().optional(),
  policy: z.number().int().positive().optional(),
});
export type Versions = z.infer<typeof Versions>;

/** Tool arguments as the model produced them; each tool's own zod schema validates them at the policy gate. */
export const ToolArguments = z.record(z.string(), z.unknown());

/**
 * A signature issued by a gate over the canonical hash of what it approved,
 * with that gate's own Ed25519 key. It names the key by id, never carries it.
 */
export const Signature = z.object({
  hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('SHA-256 of the canonical signed fields.'),
  signature: z.string().min(1).describe('Ed25519 signature of the hash, base64.'),
  keyId: z
    .string()
    .min(1)
    .describe('Which key of the signing gate made it; checkers hold its public key.'),
  expiresAt: Timestamp,
});
export type Signature = z.infer<typeof Signature>;

export const KillScope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }),
  z.object({ kind: z.literal('tenant'), tenantId: TenantId }),
  z.object({ kind: z.literal('agent'), agent: z.string().min(1) }),
  z.object({ kind: z.literal('task'), taskId: TaskId }),
]);
export type KillScope = z.infer<typeof KillScope>;

export const Gate = z.enum(['policy', 'budget', 'approvals', 'executor']);
export type Gate = z.infer<typeof Gate>;

export const ServiceName = z.enum(['planner', 'policy', 'budget', 'approvals', 'executor']);
export type ServiceName = z.infer<typeof ServiceName>;
