import {
  AgentRef,
  RejectionCode,
  TaskCost,
  TaskStatus,
  TrajectoryStep,
  Versions,
} from '@leash/contracts';
import { defineAggregate } from '@leash/store';
import { z } from 'zod';

/*
 * A task as the planner keeps it between events. The loop never waits in
 * memory: after every step this document holds all it needs to go on (the
 * conversation, the calls of the current turn and their outcomes, the
 * reservation it waits for, counters and the trajectory), and the next
 * event, or a restarted planner, picks it up from here.
 */

const ToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.string() });

export const StoredMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string().optional(),
    toolCalls: z.array(ToolCall),
  }),
  z.object({ role: z.literal('tool'), toolCallId: z.string(), content: z.string() }),
]);

/** How one call of the current turn ended. */
export const CallOutcome = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('completed'),
    status: z.enum(['succeeded', 'failed']),
    /** The tool message for the model, rendered when the outcome arrived. */
    message: z.string(),
  }),
  z.object({
    kind: z.literal('rejected'),
    gate: z.string(),
    code: RejectionCode,
    reason: z.string(),
    cap: z.string().optional(),
    message: z.string(),
  }),
  z.object({ kind: z.literal('malformed'), message: z.string() }),
]);
export type CallOutcome = z.infer<typeof CallOutcome>;

/** One tool call of the current model turn: proposed (with an action id) or malformed. */
export const TurnCall = z.object({
  toolCallId: z.string(),
  tool: z.string(),
  actionId: z.string().optional(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  outcome: CallOutcome.optional(),
});
export type TurnCall = z.infer<typeof TurnCall>;

/** The reservation the next (or current) model call waits on. */
export const ModelReservation = z.object({
  requestId: z.string(),
  /** The model step this reservation pays for (1-based). */
  step: z.number().int().positive(),
  estimate: z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
  }),
  issuedAt: z.string(),
  deadlineAt: z.string(),
  reservationId: z.string().optional(),
});
export type ModelReservation = z.infer<typeof ModelReservation>;

export const TaskPhase = z.enum([
  /** A budget request for the next model call is out. */
  'awaiting_budget',
  /** Granted; the model call runs (or must run again after a restart). */
  'calling_model',
  /** The turn's proposals wait for their outcomes from the gates and the executor. */
  'awaiting_actions',
  'finished',
]);
export type TaskPhase = z.infer<typeof TaskPhase>;

export const PlannerTask = z.object({
  taskId: z.string(),
  tenantId: z.string(),
  agent: AgentRef,
  /** `running` until a terminal status. */
  status: z.union([z.literal('running'), TaskStatus]),
  phase: TaskPhase,
  input: z.string(),
  metadata: z.record(z.string(), z.string()),
  requestedBy: z.string().optional(),
  /** The model name reservations and usage are booked under. */
  model: z.string(),
  versions: Versions,
  maxSteps: z.number().int().positive(),
  /** Model calls made so far. */
  step: z.number().int().nonnegative(),
  messages: z.array(StoredMessage),
  /** The calls of the latest model turn. */
  turn: z.array(TurnCall),
  reservation: ModelReservation.optional(),
  /** Texts from outside seen so far (task input, tool output, tool errors): the taint source. */
  untrusted: z.array(z.string()),
  /** The cost alarm fired for this task (it fires once; the stop may still come). */
  costAlarmed: z.boolean().default(false),
  /** Turns in which the policy reported a loop. */
  loopDenials: z.number().int().nonnegative(),
  cost: TaskCost,
  trajectory: z.array(TrajectoryStep),
  startedAt: z.string(),
  deadlineAt: z.string(),
  updatedAt: z.string(),
  reason: z.string().optional(),
  result: z.string().optional(),
  finishedAt: z.string().optional(),
});
export type PlannerTask = z.infer<typeof PlannerTask>;

export const PLANNER_TASKS = defineAggregate({
  name: 'planner_task',
  schema: PlannerTask,
  id: (task) => task.taskId,
  // Open tasks by deadline (the sweeper), and all open tasks (restart, kill).
  indexes: [['status', 'deadlineAt'], 'tenantId'],
});
