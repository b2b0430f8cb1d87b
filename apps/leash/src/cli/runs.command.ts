import { parseArgs } from 'node:util';
import { RunStatus, searchRuns, usd, type RunSearch, type RunSummary } from '@leash/audit';
import type { Store } from '@leash/store';
import { UsageError } from './arguments';
import { formatMs } from './audit.command';
import { visible, type Terminal } from './terminal';

/*
 * `leash runs search`: finds runs by their audit summaries. "The five most
 * expensive failures of the last 7 days":
 *   leash runs search --status failed --since 7d --sort cost --limit 5
 */

export type RunsCommand =
  | { readonly kind: 'help'; readonly topic: 'runs' }
  | { readonly kind: 'runs-search'; readonly search: RunSearch; readonly json: boolean };

export const RUNS_HELP = `leash runs search [--tenant T] [--agent A] [--status S] [--error-class C] [--tool NAME]
                  [--since 7d|ISO] [--until ISO] [--sort cost|latency|started] [--asc]
                  [--limit N] [--json]

Finds runs (one per task) in the audit log. Filters combine; --since and
--until bound the start time (a duration such as 30m, 12h, 7d counts back
from now). Sorted newest, most expensive or slowest first unless --asc.
Status is one of ${RunStatus.options.join(', ')}.
The error class is a rejection code (cap_exceeded, policy_denied, ...),
tool_<kind> for a failed tool run, or the status.

  leash runs search --status failed --since 7d --sort cost --limit 5
`;

const DURATION = /^(\d+)(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A start bound: a duration back from `now`, or an ISO time. */
export function timeBound(flag: string, value: string, now: Date): string {
  const duration = DURATION.exec(value.trim());
  if (duration) {
    const ms = Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
    return new Date(now.getTime() - ms).toISOString();
  }
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new UsageError(
      `${flag} takes a duration (30m, 12h, 7d) or an ISO time, got "${value}"`,
      'runs',
    );
  }
  return new Date(time).toISOString();
}

export function parseRunsCommand(argv: readonly string[], now: Date = new Date()): RunsCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    return { kind: 'help', topic: 'runs' };
  }
  if (sub !== 'search') throw new UsageError(`runs: unknown subcommand "${sub}"`, 'runs');
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        help: { type: 'boolean', short: 'h' },
        tenant: { type: 'string' },
        agent: { type: 'string' },
        status: { type: 'string' },
        'error-class': { type: 'string' },
        tool: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        sort: { type: 'string' },
        asc: { type: 'boolean' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`runs search: ${(error as Error).message.split('. ')[0]}`, 'runs');
  }
  const values = parsed.values;
  if (values.help) return { kind: 'help', topic: 'runs' };
  const status = values.status === undefined ? undefined : RunStatus.safeParse(values.status);
  if (status && !status.success) {
    throw new UsageError(
      `--status must be one of ${RunStatus.options.join(', ')}, got "${values.status}"`,
      'runs',
    );
  }
  const sort = values.sort ?? 'started';
  if (sort !== 'cost' && sort !== 'latency' && sort !== 'started') {
    throw new UsageError(`--sort must be cost, latency or started, got "${sort}"`, 'runs');
  }
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new UsageError(
        `--limit must be a whole number from 1 to 1000, got "${values.limit}"`,
        'runs',
      );
    }
  }
  const search: RunSearch = {
    ...(values.tenant !== undefined ? { tenantId: values.tenant } : {}),
    ...(values.agent !== undefined ? { agent: values.agent } : {}),
    ...(status?.success ? { status: status.data } : {}),
    ...(values['error-class'] !== undefined ? { errorClass: values['error-class'] } : {}),
    ...(values.tool !== undefined ? { tool: values.tool } : {}),
    ...(values.since !== undefined ? { since: timeBound('--since', values.since, now) } : {}),
    ...(values.until !== undefined ? { until: timeBound('--until', values.until, now) } : {}),
    sort,
    order: values.asc ? 'asc' : 'desc',
    ...(limit !== undefined ? { limit } : {}),
  };
  return { kind: 'runs-search', search, json: values.json ?? false };
}

export async function runRunsCommand(
  command: Extract<RunsCommand, { kind: 'runs-search' }>,
  store: Store,
  terminal: Terminal,
): Promise<number> {
  const started = performance.now();
  const runs = await searchRuns(store, command.search);
  const elapsed = performance.now() - started;
  if (command.json) {
    terminal.out(visible(JSON.stringify(runs, null, 2), 'json'));
    return 0;
  }
  for (const line of formatRuns(runs)) terminal.out(line);
  terminal.out(`${runs.length} run${runs.length === 1 ? '' : 's'} (${elapsed.toFixed(0)} ms)`);
  return 0;
}

export function formatRuns(runs: readonly RunSummary[]): string[] {
  if (runs.length === 0) return [];
  const rows = runs.map((run) =>
    [
      run.taskId,
      run.tenantId,
      run.agent,
      run.status,
      run.errorClass ?? '-',
      usd(run.costUsdMicros),
      formatMs(run.latencyMs),
      run.startedAt,
      run.tools.join(',') || '-',
    ].map((cell) => visible(cell)),
  );
  const header = [
    'TASK',
    'TENANT',
    'AGENT',
    'STATUS',
    'ERROR',
    'COST',
    'LATENCY',
    'STARTED',
    'TOOLS',
  ];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)];
}
