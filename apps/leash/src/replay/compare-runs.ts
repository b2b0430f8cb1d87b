import type { TaskStatus } from '@leash/contracts';
import type { Divergence } from './counterfactual';

/*
 * Two trajectories of one task side by side, the recorded one and the
 * replayed one, read off the same events, and the one-line verdict on the
 * pair: same, better, worse, changed, or diverged at step N.
 */

/** An event as the audit keeps it and as the bus delivers it: its type and data. */
export interface RunEvent {
  readonly type: string;
  readonly data: unknown;
}

/** How the replay's tools start the error of a call the recording does not have. */
export const NOT_IN_RECORDING = 'replay: not in the recording:';

/** One proposed action and what the gates and the tool made of it. */
export interface StepLine {
  readonly step: number;
  readonly tool: string;
  readonly arguments: Readonly<Record<string, unknown>>;
  /** The policy's route (allow, approve, deny), the verdict, then how it ended. */
  readonly gates: string;
  readonly outcome: string;
}

export interface RunSide {
  readonly status: TaskStatus | 'unfinished';
  readonly reason: string;
  readonly answer?: string;
  readonly steps: readonly StepLine[];
  readonly costUsdMicros: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

type Data = Record<string, unknown> & {
  readonly actionId?: string;
  readonly tool?: string;
};

/** A run's side from its events, oldest first. */
export function sideOf(events: readonly RunEvent[]): RunSide {
  const steps = new Map<
    string,
    {
      step: number;
      tool: string;
      arguments: Record<string, unknown>;
      gates: string[];
      outcome: string;
    }
  >();
  const approvals = new Map<string, string>();
  let finished: Data | undefined;
  for (const { type, data: raw } of events) {
    const data = raw as Data;
    const line = data.actionId ? steps.get(data.actionId) : undefined;
    switch (type) {
      case 'leash.actions.proposed.v1':
        steps.set(data.actionId!, {
          step: data.step as number,
          tool: data.tool!,
          arguments: data.arguments as Record<string, unknown>,
          gates: [],
          outcome: 'not decided',
        });
        break;
      case 'leash.actions.decided.v1':
        line?.gates.push(`policy ${(data.decision as { route: string }).route}`);
        break;
      case 'leash.approvals.requested.v1':
        approvals.set(data.approvalId as string, data.actionId!);
        break;
      case 'leash.approvals.decided.v1': {
        const target = steps.get(approvals.get(data.approvalId as string) ?? '');
        target?.gates.push(`${data.verdict as string} by a person`);
        break;
      }
      case 'leash.actions.completed.v1': {
        const error = data.error as { message?: string } | undefined;
        // The replay's executor refused to make up an output: the tool did not run.
        if (line && error?.message?.startsWith(NOT_IN_RECORDING))
          line.outcome = 'not run (not in the recording)';
        else if (line) line.outcome = `ran (${data.status as string})`;
        break;
      }
      case 'leash.actions.rejected.v1':
        if (line && line.outcome === 'not decided') {
          line.outcome = `refused by ${data.gate as string} (${data.code as string})`;
        }
        break;
      case 'leash.tasks.finished.v1':
        finished = data;
        break;
    }
  }
  const cost = finished?.cost as
    { usdMicros: number; inputTokens: number; outputTokens: number } | undefined;
  return {
    status: (finished?.status as TaskStatus | undefined) ?? 'unfinished',
    reason: (finished?.reason as string | undefined) ?? 'did not finish',
    ...(typeof finished?.result === 'string' ? { answer: finished.result } : {}),
    steps: [...steps.values()].map((s) => ({
      step: s.step,
      tool: s.tool,
      arguments: s.arguments,
      gates: s.gates.join(', '),
      outcome: s.outcome,
    })),
    costUsdMicros: cost?.usdMicros ?? 0,
    inputTokens: cost?.inputTokens ?? 0,
    outputTokens: cost?.outputTokens ?? 0,
  };
}

/** A step as one comparable line: tool, arguments, gates and outcome. */
export function stepText(line: StepLine): string {
  return `${line.tool} ${JSON.stringify(line.arguments)} ${line.gates ? `[${line.gates}] ` : ''}${line.outcome}`;
}

export type VerdictKind = 'same' | 'better' | 'worse' | 'changed' | 'diverged';

export interface ReplayVerdict {
  readonly kind: VerdictKind;
  /** The first step where the trajectories differ (or the replay stopped). */
  readonly step?: number;
  readonly line: string;
}

/** How good an end is, for better and worse: a task done beats a person asked beats a refusal beats a failure. */
const STATUS_RANK: Readonly<Record<RunSide['status'], number>> = {
  succeeded: 4,
  escalated: 3,
  rejected: 2,
  failed: 1,
  limit_exceeded: 1,
  killed: 1,
  unfinished: 0,
};

function usd(micros: number): string {
  return `$${(micros / 1_000_000).toFixed(4)}`;
}

/** The one-line verdict on a recorded run and its replay. */
export function verdictOf(
  recorded: RunSide,
  replayed: RunSide,
  divergence: Divergence | undefined,
): ReplayVerdict {
  if (divergence?.stopped) {
    return {
      kind: 'diverged',
      step: divergence.step,
      line: `diverged at step ${divergence.step}: ${divergence.detail}`,
    };
  }
  const length = Math.max(recorded.steps.length, replayed.steps.length);
  let first: number | undefined;
  for (let i = 0; i < length && first === undefined; i += 1) {
    const a = recorded.steps[i];
    const b = replayed.steps[i];
    if (!a || !b || stepText(a) !== stepText(b)) first = (a ?? b)!.step;
  }
  const sameEnd = recorded.status === replayed.status && recorded.answer === replayed.answer;
  if (first === undefined && sameEnd) return { kind: 'same', line: 'same' };
  const step =
    first ?? Math.max(recorded.steps.at(-1)?.step ?? 0, replayed.steps.at(-1)?.step ?? 0) + 1;
  const rank = STATUS_RANK[replayed.status] - STATUS_RANK[recorded.status];
  const costDelta = replayed.costUsdMicros - recorded.costUsdMicros;
  const ends = `${recorded.status} -> ${replayed.status}, cost ${usd(recorded.costUsdMicros)} -> ${usd(replayed.costUsdMicros)}`;
  const kind: VerdictKind =
    rank > 0
      ? 'better'
      : rank < 0
        ? 'worse'
        : costDelta < 0
          ? 'better'
          : costDelta > 0
            ? 'worse'
            : 'changed';
  return { kind, step, line: `${kind} from step ${step}: ${ends}` };
}
