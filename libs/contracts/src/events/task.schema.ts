import { z } from 'zod';
import { AgentRef, TaskId, Timestamp, UsdMicros, Versions } from './common.schema';

export const TaskRequestedV1 = z.object({
  agent: z.string().min(1).max(100).describe('Agent profile name.'),
  agentVersion: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Pin a profile version; current if absent.'),
  input: z
    .string()
    .min(1)
    .max(100_000)
    .describe('The task, as the upstream system states it. Untrusted.'),
  metadata: z.record(z.string(), z.string()).default({}),
  requestedBy: z.string().max(200).optional(),
  deadlineAt: Timestamp.optional().describe(
    'Wall-clock deadline; the profile default applies if absent.',
  ),
});
export type TaskRequestedV1 = z.infer<typeof TaskRequestedV1>;

export const TaskStatus = z.enum([
  'succeeded',
  'failed',
  'rejected',
  'escalated',
  'killed',
  'limit_exceeded',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const TrajectoryStep = z.object({
  step: z.number().int().nonnegative(),
  kind: z.enum(['plan', 'action', 'observation', 'rejection', 'final']),
  tool: z.string().optional(),
  actionId: z.string().optional(),
  gate: z.string().max(50).optional().describe('For a rejection: the gate that refused.'),
  arguments: z
    .string()
    .max(10_000)
    .optional()
    .describe(
      'For a call whose arguments did not parse: the text the model sent, so a replay can send it again.',
    ),
  summary: z.string().max(10_000),
  at: Timestamp,
});

export const TaskCost = z.object({
  usdMicros: UsdMicros,
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  toolCalls: z.number().int().nonnegative(),
});
export type TaskCost = z.infer<typeof TaskCost>;

export const TaskFinishedV1 = z.object({
  taskId: TaskId,
  agent: AgentRef,
  status: TaskStatus,
  reason: z.string().max(10_000),
  result: z.string().max(100_000).optional(),
  trajectory: z.array(TrajectoryStep),
  cost: TaskCost,
  versions: Versions,
  startedAt: Timestamp,
  finishedAt: Timestamp,
});
export type TaskFinishedV1 = z.infer<typeof TaskFinishedV1>;

/*
 * What a running task did that people watch for (tasks.progress): a cost
 * alarm, and a switch to the agent's cheaper fallback model. `leash task
 * watch` prints them; the audit records them.
 */

/** A task passed a multiple of its agent's typical cost (the median of its latest finished tasks). */
export const TaskCostAlarmV1 = z.object({
  taskId: TaskId,
  agent: AgentRef,
  costUsdMicros: UsdMicros.describe("The task's cost so far."),
  typicalUsdMicros: UsdMicros.describe("The median cost of the agent's latest finished tasks."),
  sample: z.number().int().positive().describe('How many finished tasks the median is of.'),
  multiple: z.number().positive().describe('costUsdMicros over typicalUsdMicros.'),
  alarmMultiple: z.number().positive(),
  stopMultiple: z.number().positive(),
  action: z
    .enum(['alarm', 'stop'])
    .describe('alarm: past alarmMultiple, the task goes on; stop: past stopMultiple, it ends.'),
  at: Timestamp,
});
export type TaskCostAlarmV1 = z.infer<typeof TaskCostAlarmV1>;

/** A task's next model calls use the agent's cheaper fallback model. */
export const TaskModelSwitchedV1 = z.object({
  taskId: TaskId,
  agent: AgentRef,
  from: z.string().min(1),
  to: z.string().min(1),
  spentUsdMicros: UsdMicros,
  budgetUsdMicros: UsdMicros.describe("The task's budget (caps.task.usd)."),
  atBudgetFraction: z.number().gt(0).lt(1),
  at: Timestamp,
});
export type TaskModelSwitchedV1 = z.infer<typeof TaskModelSwitchedV1>;
