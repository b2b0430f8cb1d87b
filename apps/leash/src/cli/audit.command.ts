import { parseArgs } from 'node:util';
import { taskTrajectory, usd, type AuditEntry, type RunSummary } from '@leash/audit';
import type { Store } from '@leash/store';
import { UsageError } from './arguments';
import { visible, type Terminal } from './terminal';

/*
 * `leash audit TASK_ID`: a task's whole trajectory from the audit log: the
 * run, the plan, each proposed tool call with its arguments, each gate's
 * decision (reason, versions, signer), each observation and the costs.
 */

export type AuditCommand =
  | { readonly kind: 'help'; readonly topic: 'audit' }
  | { readonly kind: 'audit'; readonly taskId: string; readonly json: boolean };

export const AUDIT_HELP = `leash audit TASK_ID [--json]

Prints a task's trajectory from the audit log: its run summary (status, cost,
latency, versions), the plan, then every event of the task in time order:
each proposed tool call with its arguments, each gate's decision with its
reason, policy version and signing key, approvals, each observation (the
tool's output or error) and each cost. --json prints the entries as stored.

Exit codes: 0 printed, 1 nothing recorded for this task, 2 bad arguments.
`;

export function parseAuditCommand(argv: readonly string[]): AuditCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(`audit: ${(error as Error).message.split('. ')[0]}`, 'audit');
  }
  if (parsed.values.help) return { kind: 'help', topic: 'audit' };
  const [taskId, ...extra] = parsed.positionals;
  if (!taskId?.trim()) throw new UsageError('audit needs a task id: leash audit TASK_ID', 'audit');
  if (extra.length > 0) throw new UsageError(`audit: unexpected "${extra[0]}"`, 'audit');
  return { kind: 'audit', taskId: taskId.trim(), json: parsed.values.json ?? false };
}

export async function runAuditCommand(
  command: Extract<AuditCommand, { kind: 'audit' }>,
  store: Store,
  terminal: Terminal,
): Promise<number> {
  const trajectory = await taskTrajectory(store, command.taskId);
  if (trajectory.entries.length === 0 && !trajectory.run) {
    terminal.err(visible(`leash: nothing recorded for task ${command.taskId}`));
    return 1;
  }
  if (command.json) {
    terminal.out(visible(JSON.stringify(trajectory, null, 2), 'json'));
    return 0;
  }
  for (const line of formatTrajectory(trajectory.run, trajectory.entries)) terminal.out(line);
  return 0;
}

const KIND_LABELS: Record<AuditEntry['kind'], string> = {
  task: 'task',
  plan: 'tool call',
  decision: 'gate',
  approval: 'approval',
  observation: 'observation',
  model: 'model',
  usage: 'cost',
  alarm: 'alarm',
  control: 'control',
  dead_letter: 'dead letter',
  finish: 'finish',
};

export function formatTrajectory(
  run: RunSummary | undefined,
  entries: readonly AuditEntry[],
): string[] {
  const lines: string[] = [];
  // Summaries, reasons and plans quote untrusted text: each line is escaped as a whole below.
  if (run) {
    lines.push(
      `task ${run.taskId}  tenant ${run.tenantId}  agent ${run.agent}${run.agentVersion ? ` v${run.agentVersion}` : ''}`,
      `status ${run.status}${run.errorClass ? ` (${run.errorClass})` : ''}${run.reason ? `: ${run.reason}` : ''}`,
      `started ${run.startedAt}${run.finishedAt ? `  finished ${run.finishedAt}  latency ${formatMs(run.latencyMs)}` : ''}`,
      `cost ${usd(run.costUsdMicros)}  tokens ${run.inputTokens} in / ${run.outputTokens} out  tool calls ${run.toolCalls}  rejections ${run.rejections}`,
      `tools ${run.tools.join(', ') || '-'}`,
      `versions ${formatVersions(run.versions)}`,
    );
  }
  const plan = planOf(entries);
  if (plan.length > 0) {
    lines.push('', 'plan:');
    for (const step of plan) lines.push(`  ${step}`);
  }
  lines.push('', 'trajectory:');
  for (const entry of entries) {
    const label = KIND_LABELS[entry.kind].padEnd(11);
    lines.push(`  ${entry.time}  ${label}  ${entry.summary}`);
    const decision = entry.decision;
    if (decision && (decision.policyVersion !== undefined || entry.versions)) {
      const versions = {
        ...entry.versions,
        policy: decision.policyVersion ?? entry.versions?.policy,
      };
      lines.push(
        `  ${' '.repeat(entry.time.length)}  ${' '.repeat(11)}  versions ${formatVersions(versions)}`,
      );
    }
  }
  return lines.map((line) => visible(line));
}

/** The planner's own account of its plan (tasks.finished), else the reasons it gave per step. */
function planOf(entries: readonly AuditEntry[]): string[] {
  const finished = entries.find((entry) => entry.type === 'leash.tasks.finished.v1');
  const trajectory = (
    finished?.data as { trajectory?: { step: number; kind: string; summary: string }[] }
  )?.trajectory;
  const planned = trajectory?.filter((step) => step.kind === 'plan') ?? [];
  if (planned.length > 0) return planned.map((step) => `${step.step}. ${step.summary}`);
  return entries
    .filter((entry) => entry.kind === 'plan')
    .map((entry) => {
      const data = entry.data as { step?: number; reason?: string; tool?: string };
      return `${data.step ?? '?'}. ${data.tool ?? ''}: ${data.reason ?? ''}`;
    });
}

function formatVersions(versions: RunSummary['versions']): string {
  const parts = [
    versions.profile !== undefined ? `profile ${versions.profile}` : undefined,
    versions.prompt ? `prompt ${versions.prompt}` : undefined,
    versions.model ? `model ${versions.model}` : undefined,
    versions.tools ? `tools ${versions.tools}` : undefined,
    versions.policy !== undefined ? `policy ${versions.policy}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return parts.join(', ') || '-';
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms >= 1_000 ? `${(ms / 1_000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
