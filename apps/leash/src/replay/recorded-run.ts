import { auditEntries, taskTrajectory, type AuditEntry } from '@leash/audit';
import type {
  ActionCompletedV1,
  ActionDecidedV1,
  ActionProposedV1,
  ActionRejectedV1,
  ApprovalDecidedV1,
  ApprovalRequestedV1,
  ReleaseCreatedV1,
  TaskFinishedV1,
  TaskRequestedV1,
  UsageRecordedV1,
} from '@leash/contracts';
import { MAX_FIND_LIMIT, type Store } from '@leash/store';

/*
 * A run as the audit recorded it, in the shape a replay needs: the task as
 * submitted, each model turn (its tool calls in order, or its final answer,
 * and its tokens), and what became of every action (the policy's route, the
 * reviewers' verdicts, the tool's output or the gate's refusal). The audit
 * keeps every event's data as published, so nothing here is paraphrased.
 */

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

export interface RecordedCall {
  readonly actionId: string;
  readonly step: number;
  readonly tool: string;
  readonly arguments: Readonly<Record<string, unknown>>;
  readonly reason: string;
  /** Set when a reviewer's edit proposed this action in place of another. */
  readonly replaces?: string;
}

/** A call as the model made it: a proposal's, or one whose arguments did not parse (no action). */
export interface RecordedModelCall {
  readonly step: number;
  /** Its place among the turn's calls (the action id's last part). */
  readonly index: number;
  readonly tool: string;
  /** The arguments as JSON text: a proposal's, or the malformed text the model sent. */
  readonly arguments: string;
  /** Absent for a call whose arguments did not parse: nothing was proposed. */
  readonly actionId?: string;
}

export interface RecordedTurn {
  readonly step: number;
  /** The model's calls of this turn, in the order it made them (reviewers' replacements excluded). */
  readonly calls: readonly RecordedModelCall[];
  /** The final answer, on the turn that ended the task without a call. */
  readonly answer?: string;
  /** What the model said beside its calls (the reason reviewers see), when it said something. */
  readonly content?: string;
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
}

export type RecordedOutcome =
  | { readonly kind: 'completed'; readonly data: ActionCompletedV1 }
  | { readonly kind: 'rejected'; readonly data: ActionRejectedV1 };

/** A reviewer's verdict on an action, as recorded (the first one counted). */
export type RecordedVerdict =
  | { readonly verdict: 'approve' }
  | { readonly verdict: 'reject'; readonly feedback: string }
  | { readonly verdict: 'edit'; readonly arguments: Readonly<Record<string, unknown>> };

export interface RecordedRun {
  readonly taskId: string;
  readonly tenantId: string;
  readonly agent: string;
  /** The release (profile version) the task ran under. */
  readonly release: number;
  readonly request: TaskRequestedV1;
  /** The model calls were booked under (`scripted`, `gpt-4o-mini`, ...). */
  readonly model: string;
  /** The prompt version the planner stated on its proposals and at the end. */
  readonly promptVersion?: string;
  readonly turns: readonly RecordedTurn[];
  /** Every proposed action by id, model calls and reviewers' replacements alike. */
  readonly calls: ReadonlyMap<string, RecordedCall>;
  readonly outcomes: ReadonlyMap<string, RecordedOutcome>;
  /** The policy's route per action id. */
  readonly routes: ReadonlyMap<string, string>;
  readonly verdicts: ReadonlyMap<string, RecordedVerdict>;
  /** The arguments each approval request showed the reviewers, by action id (parsed, defaults filled in). */
  readonly approvalArguments: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** The reviewer groups the run's approvals went to. */
  readonly reviewerGroups: readonly string[];
  readonly finished: TaskFinishedV1;
  /**
   * What the audit lacks of the run: it records each topic on its own, so a
   * run just finished may not be in it whole yet. Replayed all the same; a
   * replay of a run with gaps may differ where they are.
   */
  readonly gaps: readonly string[];
  /** Every event of the run, oldest first. */
  readonly events: readonly { readonly type: string; readonly data: unknown }[];
}

function dataOf<T>(entry: AuditEntry): T {
  return entry.data as T;
}

/** Reads a finished run from the audit store; refuses a run that is unknown or still running. */
export async function readRecordedRun(store: Store, taskId: string): Promise<RecordedRun> {
  const { entries } = await taskTrajectory(store, taskId);
  const requested = entries.find((e) => e.type === 'leash.tasks.requested.v1');
  if (!requested) {
    throw new ReplayError(`the audit has no task ${taskId}: find runs with \`leash runs\``);
  }
  const finishedEntry = entries.find((e) => e.type === 'leash.tasks.finished.v1');
  if (!finishedEntry) {
    throw new ReplayError(`task ${taskId} has not finished: only a finished run can be replayed`);
  }
  const finished = dataOf<TaskFinishedV1>(finishedEntry);
  const calls = new Map<string, RecordedCall>();
  const outcomes = new Map<string, RecordedOutcome>();
  const routes = new Map<string, string>();
  const verdicts = new Map<string, RecordedVerdict>();
  const approvalActions = new Map<string, string>();
  const approvalArguments = new Map<string, Readonly<Record<string, unknown>>>();
  const groups = new Set<string>();
  const usage = new Map<string, { inputTokens: number; outputTokens: number }>();
  let model: string | undefined;
  let promptVersion = finished.versions.prompt;
  for (const entry of entries) {
    switch (entry.type) {
      case 'leash.actions.proposed.v1': {
        const data = dataOf<ActionProposedV1>(entry);
        promptVersion ??= data.versions.prompt;
        calls.set(data.actionId, {
          actionId: data.actionId,
          step: data.step,
          tool: data.tool,
          arguments: data.arguments,
          reason: data.reason,
          ...(data.replaces ? { replaces: data.replaces } : {}),
        });
        break;
      }
      case 'leash.actions.decided.v1': {
        const data = dataOf<ActionDecidedV1>(entry);
        routes.set(data.actionId, data.decision.route);
        break;
      }
      case 'leash.actions.completed.v1': {
        const data = dataOf<ActionCompletedV1>(entry);
        outcomes.set(data.actionId, { kind: 'completed', data });
        break;
      }
      case 'leash.actions.rejected.v1': {
        const data = dataOf<ActionRejectedV1>(entry);
        if (!outcomes.has(data.actionId)) outcomes.set(data.actionId, { kind: 'rejected', data });
        if (!routes.has(data.actionId)) routes.set(data.actionId, `rejected:${data.gate}`);
        break;
      }
      case 'leash.approvals.requested.v1': {
        const data = dataOf<ApprovalRequestedV1>(entry);
        approvalActions.set(data.approvalId, data.actionId);
        approvalArguments.set(data.actionId, data.arguments);
        groups.add(data.reviewerGroup);
        break;
      }
      case 'leash.approvals.decided.v1': {
        const data = dataOf<ApprovalDecidedV1>(entry);
        const actionId = approvalActions.get(data.approvalId);
        if (!actionId || verdicts.has(actionId)) break;
        verdicts.set(
          actionId,
          data.verdict === 'approve'
            ? { verdict: 'approve' }
            : data.verdict === 'reject'
              ? { verdict: 'reject', feedback: data.feedback }
              : { verdict: 'edit', arguments: data.arguments },
        );
        break;
      }
      case 'leash.usage.recorded.v1': {
        const data = dataOf<UsageRecordedV1>(entry);
        if (data.kind !== 'model' || !data.requestId) break;
        // The name the call was booked under: the one a replay's model requests carry.
        model ??= data.model;
        usage.set(data.requestId, {
          inputTokens: data.inputTokens,
          outputTokens: data.outputTokens,
        });
        break;
      }
    }
  }
  // Topics are recorded independently: the end can be in the audit before the rest of the run.
  const gaps: string[] = [];
  const recordedTokens = [...usage.values()].reduce((sum, u) => sum + u.inputTokens, 0);
  if (recordedTokens < finished.cost.inputTokens) {
    gaps.push(
      `the usage of some model calls (${recordedTokens} of ${finished.cost.inputTokens} input tokens recorded)`,
    );
  }
  const undecided = [...calls.keys()].filter((actionId) => !outcomes.has(actionId));
  if (undecided.length > 0) gaps.push(`the outcome of ${undecided.join(', ')}`);
  return {
    taskId,
    tenantId: requested.tenantId ?? '',
    agent: finished.agent.name,
    release: finished.agent.version,
    request: dataOf<TaskRequestedV1>(requested),
    model: model ?? finished.versions.model ?? 'unknown',
    ...(promptVersion ? { promptVersion } : {}),
    turns: turnsOf(calls, finished, usage),
    calls,
    outcomes,
    routes,
    verdicts,
    approvalArguments,
    reviewerGroups: [...groups],
    finished,
    events: entries.map((entry) => ({ type: entry.type, data: entry.data })),
    gaps,
  };
}

/**
 * The model's turns, read off the trajectory the planner kept: each step's
 * calls in the order the model made them (a proposal, or a call whose
 * arguments did not parse, with the text it sent), and the final answer on
 * the step marked `final`. A step's tokens are those of its model request
 * (`model:<task>:<step>`).
 */
function turnsOf(
  calls: ReadonlyMap<string, RecordedCall>,
  finished: TaskFinishedV1,
  usage: ReadonlyMap<string, { inputTokens: number; outputTokens: number }>,
): RecordedTurn[] {
  const turns = new Map<
    number,
    { calls: RecordedModelCall[]; answer?: string; plan?: string; reason?: string }
  >();
  const turn = (step: number) => {
    const found = turns.get(step) ?? { calls: [] };
    turns.set(step, found);
    return found;
  };
  for (const entry of finished.trajectory) {
    if (entry.kind === 'action' && entry.actionId) {
      const call = calls.get(entry.actionId);
      if (!call || call.replaces) continue;
      const found = turn(entry.step);
      // Every call of a turn carries the turn's words as its reason, clipped less than the plan entry.
      found.reason ??= call.reason;
      found.calls.push({
        step: entry.step,
        index: found.calls.length,
        tool: call.tool,
        arguments: JSON.stringify(call.arguments),
        actionId: call.actionId,
      });
    } else if (entry.kind === 'observation' && entry.arguments !== undefined && entry.tool) {
      const stepCalls = turn(entry.step).calls;
      stepCalls.push({
        step: entry.step,
        index: stepCalls.length,
        tool: entry.tool,
        arguments: entry.arguments,
      });
    } else if (entry.kind === 'plan') {
      turn(entry.step).plan = entry.summary;
    } else if (entry.kind === 'final') {
      turn(entry.step).answer = finished.result ?? entry.summary;
    }
  }
  const tokensOf = (step: number) =>
    [...usage.entries()].find(([requestId]) => requestId.endsWith(`:${step}`))?.[1] ?? {
      inputTokens: 0,
      outputTokens: 0,
    };
  return [...turns.entries()]
    .sort(([a], [b]) => a - b)
    .map(([step, found]) => ({
      step,
      calls: found.calls,
      ...(found.answer !== undefined && found.calls.length === 0 ? { answer: found.answer } : {}),
      // A plan entry is written only when the model said something beside its calls.
      ...(found.plan !== undefined ? { content: found.reason ?? found.plan } : {}),
      usage: tokensOf(step),
    }));
}

/**
 * Whether the audit holds every one of these runs whole (finished, no gaps):
 * what a caller that just ran them waits for before replaying them.
 */
export async function recordedWhole(store: Store, taskIds: readonly string[]): Promise<boolean> {
  for (const taskId of taskIds) {
    const run = await readRecordedRun(store, taskId).catch(() => undefined);
    if (run?.gaps.length !== 0) return false;
  }
  return true;
}

/** The release as its operator created it, from the audit's copy of the control topic. */
export async function recordedRelease(
  store: Store,
  agent: string,
  release: number,
): Promise<ReleaseCreatedV1 | undefined> {
  const created = await store.repository(auditEntries).find({
    where: { type: 'leash.releases.created.v1' },
    orderBy: 'time',
    order: 'desc',
    limit: MAX_FIND_LIMIT,
  });
  return created
    .map((stored) => stored.doc.data as ReleaseCreatedV1)
    .find((data) => data.agent === agent && data.release === release);
}
