import { TransientError } from '@leash/bus';
import { priceFor, priceOf } from '@leash/config';
import type { Envelope } from '@leash/contracts';
import { KilledError, killedReason } from '@leash/kill-switch';
import { targetOf, type AgentLoopDeps } from '../agent-loop.deps';
import { ModelError, type ModelResponse } from '../model/model.port';
import { TaskEndedError } from '../task-state/in-flight-calls';
import {
  applyModelTurn,
  deadlineReason,
  finish,
  usageRecorded,
  type LoopContext,
  type Outgoing,
} from '../task-state/loop-rules';
import { PLANNER_TASKS, type PlannerTask } from '../task-state/planner-task.aggregate';
import { changeTask, loopContext } from '../task-state/task-transaction';

export interface CallModelCommand {
  readonly event: Envelope<'leash.budget.decided.v1'>;
  /** The delivery attempt: a transiently failing model is retried by redelivery a few times. */
  readonly attempt?: number;
  /** The delivery's signal: a stopping consumer aborts the call, and the grant is delivered again later. */
  readonly signal?: AbortSignal;
}

export type CallModelOutcome = 'stale' | 'refused' | 'called' | 'ended';

/**
 * Acts on the budget's answer to a model reservation. A refusal ends the
 * task `limit_exceeded`, naming the cap. A grant marks the task
 * `calling_model`, calls the model (unless a kill or the deadline forbids
 * it) and applies its answer: usage recorded, then proposals or the end.
 */
export class CallModelUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute({ event, attempt = 1, signal }: CallModelCommand): Promise<CallModelOutcome> {
    const decision = event.data;
    if (decision.kind !== 'model') return 'stale';
    const { deps } = this;
    const current = (task: PlannerTask) =>
      task.status === 'running' &&
      (task.phase === 'awaiting_budget' || task.phase === 'calling_model') &&
      task.reservation?.requestId === decision.requestId;

    const existing = await deps.store.repository(PLANNER_TASKS).get(decision.taskId);
    if (!existing || !current(existing.doc)) return 'stale';
    const ctx = await loopContext(deps, existing.doc);

    const ready = await changeTask(deps, decision.taskId, (task) => {
      if (!current(task)) return undefined;
      if (!decision.granted) {
        return finish(
          task,
          ctx,
          'limit_exceeded',
          `the budget refused the model call (cap ${decision.cap ?? 'unnamed'}): ${decision.reason}`,
        );
      }
      if (task.phase === 'calling_model') return [];
      task.phase = 'calling_model';
      task.reservation = {
        ...task.reservation!,
        reservationId: decision.reservationId ?? decision.requestId,
      };
      task.updatedAt = new Date(ctx.now).toISOString();
      return [];
    });
    if (!ready) return 'stale';
    if (ready.status !== 'running') return 'refused';

    let outcome: CallModelOutcome = 'called';
    await deps.inFlight.run(ready.taskId, decision.requestId, async (controller) => {
      outcome = await this.call(ready, ctx, controller, attempt, signal);
    });
    return outcome;
  }

  private async call(
    task: PlannerTask,
    ctx: LoopContext,
    controller: AbortController,
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<CallModelOutcome> {
    const { deps } = this;
    const reservation = task.reservation!;
    const requestId = reservation.requestId;
    const zeroUsage = { inputTokens: 0, outputTokens: 0 };

    // Nothing is spent when the call is not made: settle the reservation at zero to release it.
    if (ctx.kill) {
      await this.endIfCurrent(task, requestId, 'killed', killedReason(ctx.kill), zeroUsage);
      return 'ended';
    }
    if (ctx.now >= Date.parse(task.deadlineAt)) {
      await this.endIfCurrent(task, requestId, 'limit_exceeded', deadlineReason(task), zeroUsage);
      return 'ended';
    }

    const untrack = deps.killGate.track(targetOf(task), controller);
    const onStop = () => controller.abort(signal?.reason ?? new Error('the consumer stopped'));
    signal?.addEventListener('abort', onStop, { once: true });
    let response: ModelResponse;
    try {
      controller.signal.throwIfAborted();
      response = await deps.model.complete({
        model: task.model,
        messages: task.messages,
        tools: ctx.modelTools,
        signal: controller.signal,
        maxOutputTokens: reservation.estimate.outputTokens,
        task: {
          taskId: task.taskId,
          tenantId: task.tenantId,
          agent: task.agent.name,
          metadata: task.metadata,
        },
      });
    } catch (error) {
      return this.failed(task, requestId, controller.signal, error, attempt);
    } finally {
      untrack();
      signal?.removeEventListener('abort', onStop);
    }

    const price = priceFor(deps.prices, task.model);
    const usdMicros = price ? priceOf(price, response.usage) : 0;
    const applied = await changeTask(deps, task.taskId, (stored) => {
      if (
        stored.status === 'running' &&
        stored.phase === 'calling_model' &&
        stored.reservation?.requestId === requestId
      ) {
        return applyModelTurn(stored, { ...ctx, now: deps.clock() }, response, usdMicros);
      }
      // The task ended meanwhile (a kill, the deadline): the tokens were still spent, so record them.
      if (stored.status !== 'running') {
        return [
          usageRecorded(
            stored,
            { now: deps.clock(), source: deps.source },
            reservation,
            response.usage,
            usdMicros,
          ),
        ];
      }
      return undefined;
    });
    return applied ? 'called' : 'stale';
  }

  private async failed(
    task: PlannerTask,
    requestId: string,
    aborted: AbortSignal,
    error: unknown,
    attempt: number,
  ): Promise<CallModelOutcome> {
    if (aborted.aborted) {
      const reason: unknown = aborted.reason;
      // A kill or the end of the task aborted it: the usage is unknown, so the reservation is
      // left for the budget to charge in full at its deadline (never undercounted).
      if (reason instanceof KilledError) {
        await this.endIfCurrent(
          task,
          requestId,
          'killed',
          `killed during a model call: ${reason.message}`,
        );
        return 'ended';
      }
      if (reason instanceof TaskEndedError) return 'ended';
      throw new TransientError(`the model call was aborted: ${describe(reason)}`);
    }
    const message = describe(error);
    if (error instanceof ModelError && error.transient) {
      if (attempt < this.deps.options.modelAttempts) {
        throw new TransientError(`model call failed (attempt ${attempt}): ${message}`, {
          cause: error,
        });
      }
      await this.endIfCurrent(
        task,
        requestId,
        'failed',
        `the model is unavailable after ${attempt} attempts: ${message}`,
      );
      return 'ended';
    }
    // A permanent refusal (bad request, auth): nothing was billed, so the reservation is released.
    await this.endIfCurrent(task, requestId, 'failed', `the model call failed: ${message}`, {
      inputTokens: 0,
      outputTokens: 0,
    });
    return 'ended';
  }

  /** Ends the task if it still waits on this call; with `usage`, settles the reservation too. */
  private async endIfCurrent(
    task: PlannerTask,
    requestId: string,
    status: 'killed' | 'failed' | 'limit_exceeded',
    reason: string,
    usage?: { inputTokens: number; outputTokens: number },
  ): Promise<void> {
    const ctx = { now: this.deps.clock(), source: this.deps.source };
    await changeTask(this.deps, task.taskId, (stored) => {
      const reservation = stored.reservation;
      if (stored.status !== 'running' || reservation?.requestId !== requestId) return undefined;
      const out: Outgoing[] = usage ? [usageRecorded(stored, ctx, reservation, usage, 0)] : [];
      return [...out, ...finish(stored, ctx, status, reason)];
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
