import { toolsetVersion, type AgentProfile, type ToolDefinition } from '@leash/agents';
import type { Transaction } from '@leash/store';
import { RELEASE_OUTCOMES, outcomeOf } from '../watch-canary/release-outcome.aggregate';
import { targetOf, type AgentLoopDeps } from '../agent-loop.deps';
import { costContext } from '../cost-guard/cost-guard';
import type { LoopContext, Outgoing } from './loop-rules';
import { PLANNER_TASKS, type PlannerTask } from './planner-task.aggregate';

/**
 * Reads a task in a transaction, lets `change` alter a copy, and writes it
 * back with the events the change causes, all or nothing. `change` returns
 * undefined to leave the task as it is (the event was stale or a duplicate).
 * An inbox claim, when given, makes the whole change once per event.
 */
export async function changeTask(
  deps: Pick<AgentLoopDeps, 'store'>,
  taskId: string,
  change: (task: PlannerTask, tx: Transaction) => Outgoing[] | undefined,
  claim?: { readonly consumer: string; readonly eventId: string },
): Promise<PlannerTask | undefined> {
  return deps.store.transaction(async (tx) => {
    if (claim && !(await tx.inbox.claim(claim.consumer, claim.eventId))) return undefined;
    const tasks = tx.repository(PLANNER_TASKS);
    const stored = await tasks.get(taskId);
    if (!stored) return undefined;
    const task = stored.doc; // the repository's own copy: changed in place, no clone needed
    const outgoing = change(task, tx);
    if (outgoing === undefined) return undefined;
    await tasks.update(task, stored.version);
    await enqueueAll(tx, outgoing);
    return task;
  });
}

/**
 * Puts the events of a change in the outbox. A task's end is also recorded
 * as its release's outcome, in the same transaction: the canary watch
 * compares releases by these.
 */
export async function enqueueAll(tx: Transaction, outgoing: readonly Outgoing[]): Promise<void> {
  for (const { topic, envelope } of outgoing) {
    await tx.outbox.enqueue(topic, envelope as never);
    if (envelope.type === 'leash.tasks.finished.v1') {
      const outcome = outcomeOf(envelope.data);
      const outcomes = tx.repository(RELEASE_OUTCOMES);
      if (!(await outcomes.get(outcome.taskId))) await outcomes.insert(outcome);
    }
  }
}

/** The tool definitions of a profile's allowlist that this deployment knows. */
export function profileTools(
  deps: Pick<AgentLoopDeps, 'tools'>,
  profile: AgentProfile,
): ToolDefinition[] {
  return profile.tools
    .map((name) => deps.tools.tool(name))
    .filter((tool): tool is ToolDefinition => tool !== undefined);
}

export function toolsVersionOf(tools: readonly ToolDefinition[]): string {
  return toolsetVersion(tools);
}

/** The rules' context for a task: its profile's tools, the options, the kill in force, the time. */
export async function loopContext(
  deps: AgentLoopDeps,
  task: Pick<PlannerTask, 'agent' | 'tenantId' | 'taskId'>,
): Promise<LoopContext> {
  const profile = await deps.profiles.profile(task.agent.name, task.agent.version);
  const tools = profile ? profileTools(deps, profile) : [];
  const kill = deps.killGate.covering(targetOf(task));
  const cost = profile ? await costContext(deps.typicalCosts, profile) : undefined;
  return {
    now: deps.clock(),
    source: deps.source,
    tools: deps.tools,
    modelTools: deps.modelTools.of(tools),
    maxOutputTokens: deps.options.maxOutputTokens,
    reservationTtlMs: deps.options.reservationTtlMs,
    loopDenialsBeforeEscalation: deps.options.loopDenialsBeforeEscalation,
    ...(kill ? { kill } : {}),
    ...(cost ? { cost } : {}),
  };
}
