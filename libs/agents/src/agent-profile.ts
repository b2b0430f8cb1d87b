import { z } from 'zod';

/** Dollars in a profile are written as dollars; the ledger converts to micro-dollars. */
const Dollars = z.number().nonnegative();

export const ClassCaps = z.object({
  /** Actions of this class per tenant per day. */
  count: z.number().int().nonnegative().optional(),
  /** Money moved by this class per tenant per day, in dollars. */
  amountUsd: Dollars.optional(),
  /** Money moved by one action of this class, in dollars. */
  perActionUsd: Dollars.optional(),
});
export type ClassCaps = z.infer<typeof ClassCaps>;

export const Caps = z.object({
  task: z.object({
    tokens: z.number().int().positive(),
    toolCalls: z.number().int().positive(),
    wallClockMs: z.number().int().positive(),
    usd: Dollars,
  }),
  tenantDay: z.object({
    usd: Dollars,
    classes: z.record(z.string(), ClassCaps).default({}),
  }),
  /** Fractions of a cap at which budget.alarms fire. */
  alarms: z.array(z.number().positive().max(1)).default([0.5, 0.8, 1]),
});
export type Caps = z.infer<typeof Caps>;

/**
 * Cost runaway, caught early: the planner learns an agent's typical task cost
 * (the median of its latest finished tasks); a task that passes
 * `alarmMultiple` times it raises an alarm, and at `stopMultiple` times it
 * stops (typical $0.40: alarm at $4, stop at $20).
 */
export const CostGuard = z
  .object({
    alarmMultiple: z.number().gt(1).default(10),
    stopMultiple: z.number().gt(1).default(50),
    /** Finished tasks the median needs before the guard applies. */
    minSample: z.number().int().positive().default(20),
    /** How many of the latest finished tasks the median is taken over. */
    window: z.number().int().positive().max(10_000).default(200),
  })
  .strict()
  .refine((g) => g.stopMultiple > g.alarmMultiple, {
    message: 'stopMultiple must be larger than alarmMultiple',
  });
export type CostGuard = z.infer<typeof CostGuard>;
export const DEFAULT_COST_GUARD: CostGuard = CostGuard.parse({});

/** A cheaper model a task switches to once it has spent this share of its budget (caps.task.usd). */
export const FallbackModel = z
  .object({
    model: z.string().min(1),
    atBudgetFraction: z.number().gt(0).lt(1),
  })
  .strict();
export type FallbackModel = z.infer<typeof FallbackModel>;

export const AgentProfile = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
  version: z.number().int().positive(),
  description: z.string().default(''),
  model: z.string().min(1),
  prompt: z.object({ id: z.string().min(1), version: z.string().min(1) }),
  /** The allowlist: the only tools this agent may propose. */
  tools: z.array(z.string()).min(1),
  policy: z.object({
    id: z.string().min(1),
    /** Pin a version; the current version applies when absent. */
    version: z.number().int().positive().optional(),
  }),
  caps: Caps,
  /** Irreversible tools for which the profile explicitly lifts the human gate. */
  liftIrreversibleApproval: z.array(z.string()).default([]),
  /** The same tool with the same arguments this many times in a task is a loop. */
  loopThreshold: z.number().int().min(2).default(3),
  /** Actions per tenant and action class per minute. */
  rateLimits: z.record(z.string(), z.number().int().positive()).default({}),
  maxSteps: z.number().int().positive().default(20),
  approvals: z
    .object({
      /** Reviewer groups, first asked first; on expiry the next one is asked. */
      chain: z.array(z.string().min(1)).min(1),
      ttlMs: z.number().int().positive(),
    })
    .default({ chain: ['reviewers'], ttlMs: 3_600_000 }),
  costGuard: CostGuard.default(DEFAULT_COST_GUARD),
  fallbackModel: FallbackModel.optional(),
});
export type AgentProfile = z.infer<typeof AgentProfile>;
export type AgentProfileInput = z.input<typeof AgentProfile>;
