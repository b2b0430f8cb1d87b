import {
  writeGoldenTask,
  type AgentSet,
  type GateExpectation,
  type GoldenTaskFile,
} from '@leash/agents';
import { reviewItems, taskTrajectory, type AuditEntry } from '@leash/audit';
import type { Store } from '@leash/store';
import { readRecordedRun } from '../replay/recorded-run';
import { ReviewError } from './weekly-review';

/*
 * `leash review promote RUN_ID`: a reviewed run becomes a golden task,
 * written as data in its agent folder's golden/ directory. Its expectations
 * come from the run a person reviewed and passed: the status it ended with,
 * the tools that ran as required, how each approval was answered, and the
 * gate decisions that happened (sent to a person, denied by a gate). Its
 * script is the recorded trajectory: the scripted model plays the model's
 * turns as they were, and gives the answer it gave.
 */

export interface Promotion {
  readonly file: string;
  readonly task: GoldenTaskFile;
}

/** Codes that follow from the end of a task or a reviewer's edit, not from a gate's judgement. */
const NOT_A_DECISION = new Set(['task_finished', 'edited', 'killed']);

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'run'
  );
}

function dataOf<T>(entry: AuditEntry): T {
  return entry.data as T;
}

/** The golden task a reviewed run makes, and the file it is written to. */
export async function promoteRun(
  store: Store,
  agents: AgentSet,
  input: { readonly runId: string; readonly name?: string },
): Promise<Promotion> {
  const item = (await store.repository(reviewItems).get(input.runId))?.doc;
  if (!item || item.status !== 'scored') {
    throw new ReviewError(
      `run ${input.runId} has not been reviewed: leash review score ${input.runId} first (leash review sample queues runs)`,
    );
  }
  if (item.failed) {
    throw new ReviewError(
      `run ${input.runId} failed the rubric (${item.note ?? 'no note'}): a golden task keeps behaviour a reviewer passed`,
    );
  }
  const definition = agents.agent(item.agent);
  if (!definition) throw new ReviewError(`no agent "${item.agent}" here to write the task into`);
  const { entries } = await taskTrajectory(store, input.runId);
  const ofType = (type: string) => entries.filter((e) => e.type === type);
  const requested = ofType('leash.tasks.requested.v1')[0];
  const finished = ofType('leash.tasks.finished.v1')[0];
  if (!requested || !finished) {
    throw new ReviewError(`the audit log does not hold run ${input.runId} from request to finish`);
  }
  const task = dataOf<{ input: string; requestedBy?: string }>(requested);
  const end = dataOf<{
    status: GoldenTaskFile['expect']['status'];
    result?: string;
  }>(finished);

  // The model's turns as the replay reads them: each step's calls in the order it made them.
  const recorded = await readRecordedRun(store, input.runId);
  const turns: GoldenTaskFile['script']['turns'] = [];
  for (const turn of recorded.turns.filter((t) => t.calls.length > 0)) {
    if (turn.calls.some((call) => call.actionId === undefined)) {
      throw new ReviewError(
        `run ${input.runId} sent a call whose arguments did not parse at step ${turn.step}: the scripted model cannot send one, so it cannot be played back`,
      );
    }
    turns.push({
      say: turn.content ?? '',
      calls: turn.calls.map((call) => ({
        tool: call.tool,
        arguments: recorded.calls.get(call.actionId!)!.arguments as Record<string, unknown>,
      })),
    });
  }

  const completed = ofType('leash.actions.completed.v1').map((e) =>
    dataOf<{ tool: string; status: string }>(e),
  );
  const rejections = ofType('leash.actions.rejected.v1').map((e) =>
    dataOf<{ actionId: string; tool: string; gate: string; code: string }>(e),
  );
  const reviews: Record<string, 'approve' | 'reject'> = {};
  for (const asked of ofType('leash.approvals.requested.v1')) {
    const { actionId, tool } = dataOf<{ actionId: string; tool: string }>(asked);
    const verdict = rejections.some(
      (r) => r.actionId === actionId && r.code === 'approval_rejected',
    )
      ? 'reject'
      : 'approve';
    if (reviews[tool] !== undefined && reviews[tool] !== verdict) {
      throw new ReviewError(
        `run ${input.runId}'s reviewers answered ${tool} both ways; a golden task answers each tool one way`,
      );
    }
    reviews[tool] = verdict;
  }
  const gates = new Map<string, GateExpectation>();
  for (const decided of ofType('leash.actions.decided.v1')) {
    const { tool, decision } = dataOf<{ tool: string; decision: { route: string } }>(decided);
    if (decision.route === 'approve') gates.set(`${tool}/human`, { tool, decision: 'human' });
  }
  for (const r of rejections.filter((r) => !NOT_A_DECISION.has(r.code))) {
    gates.set(`${r.tool}/${r.gate}/${r.code}`, {
      tool: r.tool,
      decision: 'denied',
      gate: r.gate as GateExpectation['gate'],
      code: r.code,
    });
  }

  const name = input.name ?? `promoted-${slug(input.runId)}`;
  const promoted: GoldenTaskFile = {
    id: `${item.agent}.${slug(name)}`,
    agent: item.agent,
    title:
      `Promoted from run ${input.runId} (${end.status}), reviewed by ${item.reviewer ?? '?'}${item.note ? `: ${item.note}` : ''}`.slice(
        0,
        500,
      ),
    input: task.input,
    ...(task.requestedBy !== undefined ? { requestedBy: task.requestedBy } : {}),
    tags: ['golden', 'promoted'],
    expect: {
      status: end.status,
      requiredTools: [
        ...new Set(completed.filter((c) => c.status === 'succeeded').map((c) => c.tool)),
      ].sort(),
      forbiddenTools: [],
      ...(Object.keys(reviews).length > 0 ? { reviews } : {}),
      ...(gates.size > 0 ? { trajectory: { gates: [...gates.values()] } } : {}),
    },
    script: { turns, final: end.result ?? '' },
    source: {
      runId: input.runId,
      ...(item.reviewer !== undefined ? { reviewer: item.reviewer } : {}),
      ...(item.scoredAt !== undefined ? { scoredAt: item.scoredAt } : {}),
      ...(item.note !== undefined ? { note: item.note } : {}),
    },
  };
  try {
    return { file: writeGoldenTask(definition.source.dir, promoted), task: promoted };
  } catch (error) {
    throw new ReviewError((error as Error).message);
  }
}
