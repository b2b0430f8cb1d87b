import type { AgentProfile } from '@leash/agents';
import type { Store } from '@leash/store';
import {
  event,
  finish,
  trajectory,
  type LoopContext,
  type Outgoing,
} from '../task-state/loop-rules';
import type { PlannerTask } from '../task-state/planner-task.aggregate';
import { RELEASE_OUTCOMES } from '../watch-canary/release-outcome.aggregate';

/*
 * Cost runaway, caught early. The planner knows what an agent's task
 * typically costs (the median of its latest finished tasks, from the
 * outcomes it records as each task ends); a task that passes the profile's
 * alarm multiple of that raises an alarm and goes on, and one that passes the
 * stop multiple ends `limit_exceeded`. A profile's fallback model takes a
 * task's next calls once it has spent a share of its budget.
 */

/** What the rules know of a task's agent, besides the task: filled by loopContext. */
export interface CostContext {
  /** Absent until the agent has `minSample` finished tasks. */
  readonly guard?: {
    readonly typicalUsdMicros: number;
    readonly sample: number;
    readonly alarmMultiple: number;
    readonly stopMultiple: number;
  };
  readonly fallback?: {
    readonly model: string;
    readonly atBudgetFraction: number;
    readonly budgetUsdMicros: number;
  };
}

/** The median of `values` (the mean of the middle two for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const CACHE_MS = 5_000;

/** Each agent's typical task cost, read from the recorded outcomes and kept a few seconds. */
export class TypicalCosts {
  private readonly known = new Map<string, { at: number; usdMicros?: number; sample: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  async of(
    agent: string,
    guard: Pick<AgentProfile['costGuard'], 'window' | 'minSample'>,
  ): Promise<{ usdMicros: number; sample: number } | undefined> {
    const key = `${agent}\u0000${guard.window}`;
    let entry = this.known.get(key);
    if (!entry || this.clock() - entry.at > CACHE_MS) {
      const latest = await this.store.repository(RELEASE_OUTCOMES).find({
        where: { agent },
        orderBy: 'finishedAt',
        order: 'desc',
        limit: guard.window,
      });
      const typical = median(latest.map((o) => o.doc.usdMicros));
      entry = {
        at: this.clock(),
        sample: latest.length,
        ...(typical !== undefined ? { usdMicros: typical } : {}),
      };
      this.known.set(key, entry);
    }
    // A median of nothing is nothing to compare with: the guard waits for a sample.
    if (entry.usdMicros === undefined || entry.usdMicros <= 0 || entry.sample < guard.minSample) {
      return undefined;
    }
    return { usdMicros: entry.usdMicros, sample: entry.sample };
  }
}

/** The cost context of a task of `profile`. */
export async function costContext(
  typical: TypicalCosts,
  profile: AgentProfile,
): Promise<CostContext> {
  const { costGuard, fallbackModel } = profile;
  const known = await typical.of(profile.name, costGuard);
  return {
    ...(known
      ? {
          guard: {
            typicalUsdMicros: known.usdMicros,
            sample: known.sample,
            alarmMultiple: costGuard.alarmMultiple,
            stopMultiple: costGuard.stopMultiple,
          },
        }
      : {}),
    ...(fallbackModel
      ? {
          fallback: {
            model: fallbackModel.model,
            atBudgetFraction: fallbackModel.atBudgetFraction,
            budgetUsdMicros: Math.round(profile.caps.task.usd * 1_000_000),
          },
        }
      : {}),
  };
}

function dollars(usdMicros: number): string {
  return `$${(usdMicros / 1_000_000).toFixed(2)}`;
}

/**
 * After a task's cost grew: the alarm (once), the stop, and the switch to the
 * fallback model. Returns the events, and whether the task ended.
 */
export function guardCost(
  task: PlannerTask,
  ctx: LoopContext,
): { readonly out: Outgoing[]; readonly stopped: boolean } {
  const out: Outgoing[] = [];
  const guard = ctx.cost?.guard;
  if (guard) {
    const cost = task.cost.usdMicros;
    const multiple = cost / guard.typicalUsdMicros;
    const action =
      multiple >= guard.stopMultiple
        ? 'stop'
        : multiple >= guard.alarmMultiple
          ? 'alarm'
          : undefined;
    if (action && (action === 'stop' || !task.costAlarmed)) {
      task.costAlarmed = true;
      const said = `costs ${dollars(cost)}, ${multiple.toFixed(1)}x this agent's typical task (${dollars(guard.typicalUsdMicros)}, the median of its last ${guard.sample})`;
      out.push({
        topic: 'tasks.progress',
        envelope: event(
          task,
          ctx,
          'leash.tasks.cost_alarm.v1',
          {
            taskId: task.taskId,
            agent: task.agent,
            costUsdMicros: cost,
            typicalUsdMicros: Math.round(guard.typicalUsdMicros),
            sample: guard.sample,
            multiple,
            alarmMultiple: guard.alarmMultiple,
            stopMultiple: guard.stopMultiple,
            action,
            at: new Date(ctx.now).toISOString(),
          },
          `cost-${action}:${task.taskId}`,
        ),
      });
      if (action === 'stop') {
        return {
          out: [
            ...out,
            ...finish(
              task,
              ctx,
              'limit_exceeded',
              `cost runaway: the task ${said}; it stops at ${guard.stopMultiple}x`,
            ),
          ],
          stopped: true,
        };
      }
      trajectory(
        task,
        ctx.now,
        'observation',
        `cost alarm: the task ${said}; it stops at ${guard.stopMultiple}x`,
      );
    }
  }
  const fallback = ctx.cost?.fallback;
  if (
    fallback &&
    task.model !== fallback.model &&
    fallback.budgetUsdMicros > 0 &&
    task.cost.usdMicros >= fallback.atBudgetFraction * fallback.budgetUsdMicros
  ) {
    const from = task.model;
    task.model = fallback.model;
    trajectory(
      task,
      ctx.now,
      'observation',
      `model switched from ${from} to ${fallback.model}: ${dollars(task.cost.usdMicros)} spent of ${dollars(fallback.budgetUsdMicros)}`,
    );
    out.push({
      topic: 'tasks.progress',
      envelope: event(
        task,
        ctx,
        'leash.tasks.model_switched.v1',
        {
          taskId: task.taskId,
          agent: task.agent,
          from,
          to: fallback.model,
          spentUsdMicros: task.cost.usdMicros,
          budgetUsdMicros: fallback.budgetUsdMicros,
          atBudgetFraction: fallback.atBudgetFraction,
          at: new Date(ctx.now).toISOString(),
        },
        `model-switch:${task.taskId}`,
      ),
    });
  }
  return { out, stopped: false };
}
