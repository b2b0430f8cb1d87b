import { z } from 'zod';
import { RiskClass } from '@leash/contracts';
import { defineTool, type IdentityKind, type ToolDefinition } from '../tool-definition';

/** One tool as data, in an agent folder's `tools.yaml`: its parameters are JSON Schema. */
export const ToolFileEntry = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case, at most 64 characters'),
    version: z.number().int().positive(),
    description: z.string().min(1).max(4_000).describe('Written for the model.'),
    parameters: z
      .object({ type: z.literal('object') })
      .passthrough()
      .describe(
        'A JSON Schema object: the model is shown it, the policy gate checks arguments by it.',
      ),
    riskClass: RiskClass,
    actionClass: z.string().min(1).max(100),
    idempotent: z.boolean(),
    tags: z.array(z.string().min(1)).default([]),
    amountField: z.string().min(1).optional(),
    identities: z.record(z.string(), z.enum(['email', 'domain', 'id'])).optional(),
    timeoutMs: z.number().int().positive().optional(),
    retry: z
      .object({
        maxAttempts: z.number().int().positive(),
        initialDelayMs: z.number().int().nonnegative(),
        maxDelayMs: z.number().int().nonnegative(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ToolFileEntry = z.infer<typeof ToolFileEntry>;

export const ToolFile = z.array(ToolFileEntry);

/** A data tool as a definition; a schema zod cannot read, or a bad field reference, throws. */
export function toolFromData(entry: ToolFileEntry): ToolDefinition {
  const parameters = z.fromJSONSchema(entry.parameters as Parameters<typeof z.fromJSONSchema>[0]);
  if (!(parameters instanceof z.ZodObject)) {
    throw new Error(`tool ${entry.name}: parameters must be a JSON Schema object with properties`);
  }
  return defineTool({
    name: entry.name,
    version: entry.version,
    description: entry.description,
    parameters,
    riskClass: entry.riskClass,
    actionClass: entry.actionClass,
    idempotent: entry.idempotent,
    tags: entry.tags,
    ...(entry.amountField ? { amountField: entry.amountField as never } : {}),
    ...(entry.identities
      ? { identities: entry.identities as Readonly<Record<string, IdentityKind>> as never }
      : {}),
    ...(entry.timeoutMs !== undefined ? { timeoutMs: entry.timeoutMs } : {}),
    ...(entry.retry ? { retry: entry.retry } : {}),
  });
}
