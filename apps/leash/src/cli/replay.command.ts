import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { searchRuns, usd } from '@leash/audit';
import type { Store } from '@leash/store';
import { stepText, type RunSide } from '../replay/compare-runs';
import type { ToolsMode } from '../replay/counterfactual';
import { ReplayError } from '../replay/recorded-run';
import {
  replayRuns,
  type ReplayChange,
  type ReplayReport,
  type ReplayedRun,
} from '../replay/replay-runs';
import { UsageError } from './arguments';
import { parseRunsCommand } from './runs.command';
import type { Terminal } from './terminal';

/** `leash replay`: recorded runs re-run under a changed version, nothing outside touched. */
export type ReplayCommand =
  | { readonly kind: 'help'; readonly topic: 'replay' }
  | {
      readonly kind: 'replay';
      /** One run by task id, or the runs a `leash runs search` filter finds. */
      readonly target:
        | { readonly taskId: string }
        | { readonly filter: string; readonly search: Parameters<typeof searchRuns>[1] };
      readonly change: ReplayChange;
      /** Files the change was read from, for the heading. */
      readonly sources: readonly string[];
      readonly tools: ToolsMode;
      readonly json: boolean;
    };

/**
 * A runs filter given as one string, as `leash runs search` arguments:
 * `agent=support status=failed since=7d` (or the flags themselves, with
 * --runs="--agent support ..."). Double and single quotes group words.
 */
export function filterArguments(filter: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(filter); match; match = pattern.exec(filter)) {
    const word = match[1] ?? match[2] ?? match[3]!;
    const pair = /^([a-z][a-z-]*)=(.*)$/.exec(word);
    if (pair && match[3] !== undefined) words.push(`--${pair[1]}`, pair[2]!);
    else words.push(word);
  }
  return words;
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `replay: ${flag} ${file} cannot be read: ${(error as Error).message}`,
      'replay',
    );
  }
}

export function parseReplayCommand(argv: readonly string[], now = new Date()): ReplayCommand {
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) {
    return { kind: 'help', topic: 'replay' };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        release: { type: 'string' },
        prompt: { type: 'string' },
        model: { type: 'string' },
        policy: { type: 'string' },
        tools: { type: 'string' },
        runs: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`replay: ${(error as Error).message.split('. ')[0]}`, 'replay');
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError('replay takes one TASK_ID', 'replay');
  const [taskId] = positionals;
  if ((taskId === undefined) === (values.runs === undefined)) {
    throw new UsageError('replay takes a TASK_ID or --runs "FILTER", not both', 'replay');
  }
  const tools = values.tools ?? 'recorded';
  if (tools !== 'recorded' && tools !== 'live-read') {
    throw new UsageError(`replay: --tools takes recorded or live-read, got "${tools}"`, 'replay');
  }
  let release: number | undefined;
  if (values.release !== undefined) {
    release = Number(values.release.replace(/^[a-z][a-z0-9-]*@/, ''));
    if (!Number.isInteger(release) || release < 1) {
      throw new UsageError(
        `replay: --release takes a release number (or AGENT@N), got "${values.release}"`,
        'replay',
      );
    }
  }
  if (values.model !== undefined && values.model.trim() === '') {
    throw new UsageError('replay: --model takes a model name', 'replay');
  }
  const change: ReplayChange = {
    ...(release !== undefined ? { release } : {}),
    ...(values.prompt !== undefined ? { prompt: readText('--prompt', values.prompt) } : {}),
    ...(values.model !== undefined ? { model: values.model.trim() } : {}),
    ...(values.policy !== undefined ? { policy: readText('--policy', values.policy) } : {}),
  };
  let target: Extract<ReplayCommand, { kind: 'replay' }>['target'];
  if (taskId !== undefined) {
    target = { taskId };
  } else {
    const runs = parseRunsCommand(['search', ...filterArguments(values.runs!)], now);
    if (runs.kind !== 'runs-search') {
      throw new UsageError('replay: --runs takes a `leash runs search` filter', 'replay');
    }
    target = { filter: values.runs!, search: runs.search };
  }
  return {
    kind: 'replay',
    target,
    change,
    sources: [values.prompt, values.policy].filter((f): f is string => f !== undefined),
    tools,
    json: values.json,
  };
}

export async function runReplayCommand(
  command: Extract<ReplayCommand, { kind: 'replay' }>,
  audit: Store,
  terminal: Terminal,
): Promise<number> {
  let taskIds: string[];
  if ('taskId' in command.target) {
    taskIds = [command.target.taskId];
  } else {
    const found = await searchRuns(audit, command.target.search);
    taskIds = found.filter((run) => run.status !== 'running').map((run) => run.taskId);
    if (taskIds.length === 0) {
      terminal.err(`leash: no finished run matches ${command.target.filter}`);
      return 1;
    }
  }
  let report: ReplayReport;
  try {
    report = await replayRuns(audit, taskIds, { change: command.change, tools: command.tools });
  } catch (error) {
    if (!(error instanceof ReplayError)) throw error;
    terminal.err(`leash: ${error.message}`);
    return 1;
  }
  if (command.json) {
    terminal.out(JSON.stringify({ ...report, summary: summaryOf(report.runs) }, null, 2));
    return 0;
  }
  for (const run of report.runs) terminal.out(formatReplayedRun(run).join('\n'));
  if (report.runs.length > 1) terminal.out(formatSummary(summaryOf(report.runs)).join('\n'));
  terminal.out(
    `replayed ${report.runs.length} run(s) in ${(report.wallClockMs / 1000).toFixed(1)} s`,
  );
  return 0;
}

const COLUMN = 58;

function cell(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= COLUMN ? flat.padEnd(COLUMN) : `${flat.slice(0, COLUMN - 1)}…`;
}

function ending(side: RunSide): string {
  return `${side.status}${side.answer ? `: ${side.answer}` : ` (${side.reason})`}`;
}

function cost(side: RunSide): string {
  return `${side.inputTokens} in / ${side.outputTokens} out tokens, ${usd(side.costUsdMicros)}`;
}

/** One run's two trajectories side by side, and its verdict. */
export function formatReplayedRun(run: ReplayedRun): string[] {
  const lines = [
    `replay of ${run.taskId}: ${run.from} -> ${run.to}`,
    `      ${cell('recorded')} | replayed`,
  ];
  const length = Math.max(run.recorded.steps.length, run.replayed.steps.length);
  for (let i = 0; i < length; i += 1) {
    const a = run.recorded.steps[i];
    const b = run.replayed.steps[i];
    const step = String((a ?? b)!.step).padStart(4);
    const mark = a && b && stepText(a) === stepText(b) ? ' ' : '*';
    lines.push(`${step}${mark} ${cell(a ? stepText(a) : '')} | ${b ? stepText(b) : ''}`);
  }
  lines.push(`  end  ${cell(ending(run.recorded))} | ${ending(run.replayed)}`);
  lines.push(`  cost ${cell(cost(run.recorded))} | ${cost(run.replayed)}`);
  if (run.modelAskedFrom) {
    lines.push(
      `  the model was asked from step ${run.modelAskedFrom.step}: ${run.modelAskedFrom.reason}`,
    );
  }
  for (const read of run.liveReads) lines.push(`  read live: ${read}`);
  for (const gap of run.gaps) lines.push(`  the audit lacks ${gap}: the replay may differ there`);
  lines.push(`verdict: ${run.verdict.line}`, '');
  return lines;
}

export interface ReplaySummary {
  readonly runs: number;
  readonly changed: number;
  readonly diverged: number;
  readonly better: number;
  readonly worse: number;
  /** Actions the recording ran or sent on, refused by the policy in the replay. */
  readonly newDenials: number;
  /** Actions sent to a person in the replay that the recording did not send. */
  readonly newEscalations: number;
  readonly costDeltaUsdMicros: number;
  /** The five runs that changed most: status first, then cost. */
  readonly biggest: readonly { readonly taskId: string; readonly verdict: string }[];
}

function stepKeys(side: RunSide, test: (gates: string, outcome: string) => boolean): Set<string> {
  return new Set(
    side.steps
      .filter((s) => test(s.gates, s.outcome))
      .map((s) => `${s.tool} ${JSON.stringify(s.arguments)}`),
  );
}

export function summaryOf(runs: readonly ReplayedRun[]): ReplaySummary {
  let newDenials = 0;
  let newEscalations = 0;
  const denied = (_gates: string, outcome: string) => outcome.startsWith('refused by policy');
  const escalated = (gates: string) => gates.includes('policy approve');
  for (const run of runs) {
    const before = stepKeys(run.recorded, denied);
    for (const key of stepKeys(run.replayed, denied)) if (!before.has(key)) newDenials += 1;
    const asked = stepKeys(run.recorded, escalated);
    for (const key of stepKeys(run.replayed, escalated)) if (!asked.has(key)) newEscalations += 1;
  }
  const weight = (run: ReplayedRun) =>
    (run.recorded.status !== run.replayed.status ? 1e12 : 0) +
    Math.abs(run.replayed.costUsdMicros - run.recorded.costUsdMicros);
  const changed = runs.filter((run) => run.verdict.kind !== 'same');
  return {
    runs: runs.length,
    changed: changed.length,
    diverged: runs.filter((run) => run.verdict.kind === 'diverged').length,
    better: runs.filter((run) => run.verdict.kind === 'better').length,
    worse: runs.filter((run) => run.verdict.kind === 'worse').length,
    newDenials,
    newEscalations,
    costDeltaUsdMicros: runs.reduce(
      (sum, run) => sum + run.replayed.costUsdMicros - run.recorded.costUsdMicros,
      0,
    ),
    biggest: [...changed]
      .sort((a, b) => weight(b) - weight(a))
      .slice(0, 5)
      .map((run) => ({ taskId: run.taskId, verdict: run.verdict.line })),
  };
}

export function formatSummary(summary: ReplaySummary): string[] {
  const sign = summary.costDeltaUsdMicros >= 0 ? '+' : '-';
  return [
    `summary: ${summary.runs} runs, ${summary.changed} changed (${summary.better} better, ${summary.worse} worse, ${summary.diverged} diverged)`,
    `  new denials ${summary.newDenials}, new escalations ${summary.newEscalations}, cost ${sign}${usd(Math.abs(summary.costDeltaUsdMicros))}`,
    ...(summary.biggest.length > 0 ? ['  biggest differences:'] : []),
    ...summary.biggest.map((run) => `    ${run.taskId}: ${run.verdict}`),
  ];
}
