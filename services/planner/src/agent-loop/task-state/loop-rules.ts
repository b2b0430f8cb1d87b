import type { CostContext } from '../cost-guard/cost-guard';
import { guardCost } from '../cost-guard/cost-guard';
import type { ToolDefinition, ToolSource } from '@leash/agents';
import { killedReason } from '@leash/kill-switch';
import {
  createEnvelope,
  type ActionCompletedV1,
  type ActionRejectedV1,
  type AnyEnvelope,
  type Envelope,
  type KillV1,
  type TaskStatus,
  type TopicName,
} from '@leash/contracts';
import { UntrustedValues, toolRunText } from '@leash/taint';
import { actionIdFor, modelRequestId } from '../agent-loop.deps';
import type { ModelResponse, ModelTool } from '../model/model.port';
import { estimateInputTokens } from '../model/model.port';
import { argumentsForProposal } from '../model/tool-schemas';
import { malformedMessage, noticeMessage, rejectionMessage, resultMessage } from './conversation';
import type { CallOutcome, PlannerTask, TurnCall } from './planner-task.aggregate';

/*
 * The loop's rules, without I/O: each function takes the task as stored,
 * changes it in place and returns the events to publish with the change.
 * The use cases read and write the store around them, in one transaction.
 */

/** An event to put in the outbox with the task's change. */
export interface Outgoing {
  readonly topic: TopicName;
  readonly envelope: AnyEnvelope;
}

/** What the rules need from outside, already looked up. */
export interface LoopContext {
  readonly now: number;
  readonly source: string;
  readonly tools: ToolSource;
  /** The tools the model is offered, for the reservation's estimate. */
  readonly modelTools: readonly ModelTool[];
  readonly maxOutputTokens: number;
  readonly reservationTtlMs: number;
  readonly loopDenialsBeforeEscalation: number;
  /** The kill in force over this task, if any. */
  readonly kill?: KillV1;
  /** What its agent's tasks typically cost, and its fallback model (cost-guard/cost-guard.ts). */
  readonly cost?: CostContext;
}

const SUMMARY_LIMIT = 2_000;

function clip(text: string, limit = SUMMARY_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function event<T extends AnyEnvelope['type']>(
  task: PlannerTask,
  ctx: Pick<LoopContext, 'now' | 'source'>,
  type: T,
  data: Parameters<typeof createEnvelope<T>>[1],
  id: string,
): Envelope<T> {
  return createEnvelope(type, data, {
    id,
    source: ctx.source,
    time: iso(ctx.now),
    taskId: task.taskId,
    ...(task.tenantId ? { tenantId: task.tenantId } : {}),
  });
}

export function trajectory(
  task: PlannerTask,
  now: number,
  kind: PlannerTask['trajectory'][number]['kind'],
  summary: string,
  extra: { tool?: string; actionId?: string; gate?: string; arguments?: string } = {},
): void {
  task.trajectory.push({ step: task.step, kind, summary: clip(summary), at: iso(now), ...extra });
}

// ---------------------------------------------------------------- finishing

/** Ends the task with a status and a stated reason; the one tasks.finished it ever gets. */
export function finish(
  task: PlannerTask,
  ctx: Pick<LoopContext, 'now' | 'source'>,
  status: TaskStatus,
  reason: string,
  result?: string,
): Outgoing[] {
  task.status = status;
  task.phase = 'finished';
  task.reason = clip(reason, 10_000);
  if (result !== undefined) task.result = clip(result, 100_000);
  task.finishedAt = iso(ctx.now);
  task.updatedAt = task.finishedAt;
  if (result !== undefined) trajectory(task, ctx.now, 'final', result);
  const envelope = event(
    task,
    ctx,
    'leash.tasks.finished.v1',
    {
      taskId: task.taskId,
      agent: task.agent,
      status,
      reason: task.reason,
      ...(task.result !== undefined ? { result: task.result } : {}),
      trajectory: task.trajectory,
      cost: task.cost,
      versions: task.versions,
      startedAt: task.startedAt,
      finishedAt: task.finishedAt,
    },
    `finished:${task.taskId}`,
  );
  return [{ topic: 'tasks.finished', envelope }];
}

// ------------------------------------------------------------ the next step

/**
 * Asks the budget for the next model call, unless a limit ends the task
 * first: the step budget, the deadline, a kill. The request id is the
 * step's, so asking again is the same request.
 */
export function requestNextStep(task: PlannerTask, ctx: LoopContext): Outgoing[] {
  if (ctx.kill) {
    return finish(task, ctx, 'killed', killedReason(ctx.kill));
  }
  if (task.step >= task.maxSteps) {
    return finish(
      task,
      ctx,
      'limit_exceeded',
      `step budget used: ${task.step} of ${task.maxSteps} model steps (cap task.max_steps)`,
    );
  }
  if (ctx.now >= Date.parse(task.deadlineAt)) {
    return finish(task, ctx, 'limit_exceeded', deadlineReason(task));
  }
  const step = task.step + 1;
  const requestId = modelRequestId(task.taskId, step);
  task.reservation = {
    requestId,
    step,
    estimate: {
      inputTokens: estimateInputTokens(task.messages, ctx.modelTools),
      outputTokens: ctx.maxOutputTokens,
    },
    issuedAt: iso(ctx.now),
    deadlineAt: iso(ctx.now + ctx.reservationTtlMs),
  };
  task.phase = 'awaiting_budget';
  task.updatedAt = iso(ctx.now);
  return [budgetRequest(task, ctx, `model-request:${requestId}`)];
}

/** The budget request of the task's current reservation, under the given event id. */
export function budgetRequest(
  task: PlannerTask,
  ctx: Pick<LoopContext, 'now' | 'source'>,
  eventId: string,
): Outgoing {
  const reservation = task.reservation!;
  const envelope = event(
    task,
    ctx,
    'leash.budget.requested.v1',
    {
      kind: 'model',
      requestId: reservation.requestId,
      taskId: task.taskId,
      deadlineAt: reservation.deadlineAt,
      model: task.model,
      estimate: reservation.estimate,
    },
    eventId,
  );
  return { topic: 'budget.requests', envelope };
}

export function deadlineReason(task: PlannerTask): string {
  return `wall-clock deadline ${task.deadlineAt} passed (cap task.wall_clock_ms)`;
}

// -------------------------------------------------------------- model turns

/** The usage.recorded that settles a model reservation; its id makes a repeat a duplicate. */
export function usageRecorded(
  task: PlannerTask,
  ctx: Pick<LoopContext, 'now' | 'source'>,
  reservation: NonNullable<PlannerTask['reservation']>,
  usage: { inputTokens: number; outputTokens: number },
  usdMicros: number,
): Outgoing {
  const envelope = event(
    task,
    ctx,
    'leash.usage.recorded.v1',
    {
      usageId: `usage:${reservation.requestId}`,
      taskId: task.taskId,
      kind: 'model',
      requestId: reservation.requestId,
      reservationId: reservation.reservationId ?? reservation.requestId,
      model: task.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      usdMicros,
    },
    `usage:${reservation.requestId}`,
  );
  return { topic: 'usage.recorded', envelope };
}

/**
 * Applies the model's answer to a task waiting on it: records the usage,
 * then either ends the task (an answer without tool calls) or proposes each
 * tool call. Malformed arguments become observations for the model, not
 * proposals.
 */
export function applyModelTurn(
  task: PlannerTask,
  ctx: LoopContext,
  response: ModelResponse,
  usdMicros: number,
): Outgoing[] {
  const reservation = task.reservation!;
  const out: Outgoing[] = [usageRecorded(task, ctx, reservation, response.usage, usdMicros)];
  task.step = reservation.step;
  task.cost.inputTokens += response.usage.inputTokens;
  task.cost.outputTokens += response.usage.outputTokens;
  task.cost.usdMicros += usdMicros;
  task.updatedAt = iso(ctx.now);
  // A task far past its agent's typical cost raises an alarm, or stops here.
  const guarded = guardCost(task, ctx);
  out.push(...guarded.out);
  if (guarded.stopped) return out;

  const content = response.message.content?.trim() ? response.message.content : undefined;
  const toolCalls = response.message.toolCalls.map((call, index) => ({
    ...call,
    // Some compatible servers omit ids; the tool message must still name its call.
    id: call.id || `call_${task.step}_${index}`,
  }));
  task.messages.push({
    role: 'assistant',
    ...(content !== undefined ? { content } : {}),
    toolCalls,
  });

  if (toolCalls.length === 0) {
    const verdict = classifyFinal(task.turn, ctx.tools);
    return [...out, ...finish(task, ctx, verdict.status, verdict.reason, content ?? '')];
  }

  if (content !== undefined) trajectory(task, ctx.now, 'plan', content);
  const untrusted = new UntrustedValues(task.untrusted);
  const calls: TurnCall[] = [];
  toolCalls.forEach((call, index) => {
    const tool = ctx.tools.tool(call.name);
    const parsed = argumentsForProposal(tool, call.arguments);
    if (!parsed.ok) {
      trajectory(
        task,
        ctx.now,
        'observation',
        `${call.name}: malformed arguments: ${parsed.error}`,
        { tool: call.name, arguments: clip(call.arguments) },
      );
      calls.push({
        toolCallId: call.id,
        tool: call.name,
        outcome: {
          kind: 'malformed',
          message: malformedMessage(call.id, call.name, parsed.error).content,
        },
      });
      return;
    }
    const actionId = actionIdFor(task.taskId, task.step, index);
    calls.push({ toolCallId: call.id, tool: call.name, actionId, arguments: parsed.arguments });
    trajectory(task, ctx.now, 'action', `${call.name} ${JSON.stringify(parsed.arguments)}`, {
      tool: call.name,
      actionId,
    });
    const envelope = event(
      task,
      ctx,
      'leash.actions.proposed.v1',
      {
        actionId,
        agent: task.agent,
        tool: call.name,
        arguments: parsed.arguments,
        step: task.step,
        reason: clip(content ?? `step ${task.step}: ${call.name}`, 10_000),
        tainted: untrusted.taintedIn(parsed.arguments),
        versions: task.versions,
      },
      `proposed:${actionId}`,
    );
    out.push({ topic: 'actions.proposed', envelope });
  });
  task.turn = calls;
  if (calls.every((call) => call.outcome)) return [...out, ...completeTurn(task, ctx)];
  task.phase = 'awaiting_actions';
  return out;
}

// -------------------------------------------------------------- observations

/**
 * Records the outcome of one proposed action. Returns undefined when the
 * event is not for a call this task waits on (late, duplicate, or for a
 * finished task); else the events the change causes.
 */
export function recordOutcome(
  task: PlannerTask,
  ctx: LoopContext,
  outcome:
    | { readonly kind: 'completed'; readonly data: ActionCompletedV1 }
    | { readonly kind: 'rejected'; readonly data: ActionRejectedV1 },
): Outgoing[] | undefined {
  if (task.status !== 'running' || task.phase !== 'awaiting_actions') return undefined;
  const call = task.turn.find((c) => c.actionId === outcome.data.actionId && !c.outcome);
  if (!call) return undefined;
  task.updatedAt = iso(ctx.now);

  if (outcome.kind === 'completed') {
    const data = outcome.data;
    const text = toolRunText(data);
    task.untrusted.push(text);
    task.cost.toolCalls += 1;
    call.outcome = {
      kind: 'completed',
      status: data.status,
      message: resultMessage(
        call.toolCallId,
        {
          observation: 'result',
          tool: call.tool,
          status: data.status,
          ...(data.truncated ? { truncated: true } : {}),
          ...(data.error ? { errorKind: data.error.kind } : {}),
        },
        text,
      ).content,
    };
    trajectory(task, ctx.now, 'observation', `${call.tool} ${data.status}: ${text}`, {
      tool: call.tool,
      actionId: data.actionId,
    });
  } else {
    const data = outcome.data;
    if (data.code === 'edited' && data.replacedBy) {
      // A reviewer changed the arguments: the edited action runs in its place; wait for that one.
      trajectory(
        task,
        ctx.now,
        'rejection',
        `${call.tool} edited by a reviewer, replaced by ${data.replacedBy}${data.feedback ? `: ${data.feedback}` : ''}`,
        { tool: call.tool, actionId: data.actionId },
      );
      call.actionId = data.replacedBy;
      return [];
    }
    const outcomeRejected: CallOutcome = {
      kind: 'rejected',
      gate: data.gate,
      code: data.code,
      reason: data.reason,
      ...(data.cap ? { cap: data.cap } : {}),
      message: rejectionMessage(call.toolCallId, {
        observation: 'rejected',
        tool: call.tool,
        gate: data.gate,
        code: data.code,
        reason: data.reason,
        ...(data.feedback ? { feedback: data.feedback } : {}),
        ...(data.cap ? { cap: data.cap } : {}),
      }).content,
    };
    call.outcome = outcomeRejected;
    trajectory(
      task,
      ctx.now,
      'rejection',
      `${call.tool} rejected by ${data.gate} (${data.code}): ${data.reason}${data.feedback ? ` Reviewer: ${data.feedback}` : ''}`,
      { tool: call.tool, actionId: data.actionId, gate: data.gate },
    );
  }
  if (task.turn.every((c) => c.outcome)) return completeTurn(task, ctx);
  return [];
}

/**
 * Every call of the turn has an outcome: hand them to the model as tool
 * messages, apply the loop rule, and ask for the next step. A loop_detected
 * denial forces a re-plan (a notice to the model) the first time(s), then
 * ends the task `escalated` for a person.
 */
export function completeTurn(task: PlannerTask, ctx: LoopContext): Outgoing[] {
  for (const call of task.turn) {
    task.messages.push({
      role: 'tool',
      toolCallId: call.toolCallId,
      content: call.outcome!.message,
    });
  }
  const loop = task.turn.find(
    (c) => c.outcome?.kind === 'rejected' && c.outcome.code === 'loop_detected',
  );
  if (loop && loop.outcome?.kind === 'rejected') {
    task.loopDenials += 1;
    if (task.loopDenials >= ctx.loopDenialsBeforeEscalation) {
      return finish(
        task,
        ctx,
        'escalated',
        `the policy detected a loop ${task.loopDenials} times (${loop.tool}), after a forced re-plan: a person takes over. Last: ${loop.outcome.reason}`,
      );
    }
    const notice = `the policy detected a loop on ${loop.tool}: ${loop.outcome.reason}`;
    task.messages.push(noticeMessage(notice));
    trajectory(task, ctx.now, 'observation', `re-plan forced: ${notice}`, { tool: loop.tool });
  }
  return requestNextStep(task, ctx);
}

// -------------------------------------------------------------- final answer

/**
 * The status of an answer, from the turn it answers: a hand-over to a
 * person (a tool of action class `escalation`) is `escalated`; a turn with a
 * refusal is `rejected`, or `limit_exceeded` when a budget cap refused; a
 * turn whose calls all failed is `failed`; anything else `succeeded`.
 */
export function classifyFinal(
  turn: readonly TurnCall[],
  tools: ToolSource,
): { status: TaskStatus; reason: string } {
  const ran = turn.filter((call) => call.outcome && call.outcome.kind !== 'malformed');
  if (ran.length === 0) return { status: 'succeeded', reason: 'the agent gave its final answer' };
  const handedOver = ran.find(
    (call) =>
      call.outcome?.kind === 'completed' &&
      call.outcome.status === 'succeeded' &&
      isEscalation(tools.tool(call.tool)),
  );
  if (handedOver) {
    return {
      status: 'escalated',
      reason: `handed to a person with ${handedOver.tool} (${handedOver.actionId})`,
    };
  }
  const refusals = ran.flatMap((call) =>
    call.outcome?.kind === 'rejected' ? [{ call, outcome: call.outcome }] : [],
  );
  const capped = refusals.find((r) => r.outcome.code === 'cap_exceeded');
  if (capped) {
    return {
      status: 'limit_exceeded',
      reason: `cap ${capped.outcome.cap ?? 'unnamed'} stopped ${capped.call.tool}: ${capped.outcome.reason}`,
    };
  }
  const refused = refusals[0];
  if (refused) {
    return {
      status: 'rejected',
      reason: `the ${refused.outcome.gate} gate refused ${refused.call.tool} (${refused.outcome.code}): ${refused.outcome.reason}`,
    };
  }
  const failed = ran.filter(
    (c) => c.outcome?.kind === 'completed' && c.outcome.status === 'failed',
  );
  if (failed.length === ran.length) {
    return { status: 'failed', reason: `${failed.map((c) => c.tool).join(', ')} failed` };
  }
  return { status: 'succeeded', reason: 'the agent gave its final answer' };
}

function isEscalation(tool: ToolDefinition | undefined): boolean {
  return tool?.actionClass === 'escalation';
}
