/*
 * The whole system, end to end: N tasks of five tool calls each
 * (`it-helpdesk.five-lookups`: five knowledge-base searches, one per model
 * turn) through the planner, policy, budget, approvals and executor, all
 * gates on, with the scripted model, in one process on the embedded
 * engines (temp files), started by the same launcher as `npm start`.
 *
 * Measures:
 * - tasks/s: tasks finished per second of wall clock, from the first
 *   submission to the last tasks.finished.
 * - step overhead: the control plane's share of a step. For the k-th tool
 *   call of a task (k = 2..5):
 *     overhead_k = (tool_k started - tool_{k-1} returned) - model time of turn k
 *   where the tool times are taken inside the tool implementation (the
 *   executor's registry, wrapped) and the model time inside the model adapter
 *   (the planner's ModelPort, wrapped), all with performance.now(). What is
 *   left is everything between: actions.completed through the outbox and
 *   the bus to the planner, the observation recorded, the model reservation
 *   asked of and granted by the budget, the proposal through policy, the
 *   action funded by the budget and seen by approvals, the executor's
 *   verification, and every store transaction on the way.
 * - peak RSS of the process (getrusage maxRSS, which includes start-up).
 *
 * Tasks are offered with at most `concurrency` in flight (default 32), each
 * in one of 100 tenants (daily caps and rate limits are per tenant).
 *
 * `--workers N` runs the launcher on N threads (LEASH_WORKERS); the model and
 * the tool are timed in whichever thread runs them (e2e-bench.instrument.ts).
 * `--workers 1,2 --rounds 3` runs each count in a child process of its own
 * (so each has its own peak RSS and CPU), interleaved round by round, and
 * prints every run and the median per count.
 *
 *   npm run bench:e2e [-- --tasks 1000 --concurrency 32 --tracing --workers 1,2 --rounds 3]
 *
 * The last line is `e2e: <n> tasks/s, step overhead p50 <x> ms p99 <y> ms, rss <m> MB`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Subscription } from '@leash/bus';
import { startSqliteCensus, type SqliteCensus, type SqliteCensusCounts } from '@leash/engines';
import { REFERENCE_SCENARIOS, scenarioTask } from '@leash/service-planner';
import { startTelemetry } from '@leash/telemetry';
import { collectTimings, instrumentThread } from './e2e-bench.instrument';

const SCENARIO = 'it-helpdesk.five-lookups';
const TENANTS = 100;

export interface E2eBenchOptions {
  readonly tasks?: number;
  /**
   * Record and export spans (to a sink that drops them) instead of sampling
   * nothing. Chosen once per process, before the launcher loads: run the two
   * settings in two processes.
   */
  readonly tracing?: boolean;
  /** Tasks in flight at once. */
  readonly concurrency?: number;
  /** Threads the launcher runs the services on (LEASH_WORKERS). Default 1. */
  readonly workers?: number;
  readonly log?: (line: string) => void;
}

export interface E2eBenchResult {
  readonly tasks: number;
  readonly workers: number;
  readonly seconds: number;
  readonly tasksPerSecond: number;
  readonly steps: number;
  readonly overheadP50Ms: number;
  readonly overheadP90Ms: number;
  readonly overheadP99Ms: number;
  readonly overheadMaxMs: number;
  /** Every step's overhead, in ms, in no particular order: for pooling across runs. */
  readonly overheadsMs: readonly number[];
  readonly modelP50Ms: number;
  readonly toolP50Ms: number;
  readonly peakRssMb: number;
  /**
   * CPU time of the process (all threads, user and system) from the first
   * submission to the last tasks.finished, per task: what a task costs,
   * apart from how long it waited.
   */
  readonly cpuMsPerTask: number;
  /** Tool calls made, all tasks together (five a task). */
  readonly toolCalls: number;
  readonly spansExported: number;
  /**
   * The SQL the embedded engines ran from the first submission to the last
   * tasks.finished (this thread's connections), and the same per step (five a task).
   */
  readonly census: SqliteCensusCounts;
  readonly statementsPerStep: number;
  readonly commitsPerStep: number;
  /** `e2e: <n> tasks/s, step overhead p50 <x> ms p99 <y> ms, rss <m> MB` */
  readonly line: string;
}

interface Timing {
  /** performance.now() of each model call's start and end, in order. */
  readonly model: [number, number][];
  /** Of each tool call's start and end, in order. */
  readonly tool: [number, number][];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function peakRssMb(): number {
  // maxRSS is in kilobytes on Linux and macOS.
  return process.resourceUsage().maxRSS / 1024;
}

export async function runE2eBench(options: E2eBenchOptions = {}): Promise<E2eBenchResult> {
  const tasks = options.tasks ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 32);
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  let spansExported = 0;
  const sink: SpanExporter = {
    export(spans, done) {
      spansExported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  // Before the launcher loads: its instrument module starts the SDK on import, once per process.
  const telemetry = startTelemetry({
    serviceName: 'leash',
    ...(options.tracing ? { exporter: sink } : {}),
  });
  // A custom exporter reports no endpoint; without tracing there must be none.
  if (!options.tracing && telemetry.endpoint !== undefined) {
    throw new Error(
      'runE2eBench({ tracing: false }): OTEL_EXPORTER_OTLP_ENDPOINT is set; unset it to measure untraced',
    );
  }
  const { launchLeash } = await import('../src/start');
  const workers = options.workers ?? 1;

  const scenario = REFERENCE_SCENARIOS.find((s) => s.id === SCENARIO);
  if (!scenario) throw new Error(`no scenario ${SCENARIO}`);
  const dir = mkdtempSync(join(tmpdir(), 'leash-e2e-bench-'));
  const timings = new Map<string, Timing>();
  const stopCollecting = collectTimings(([taskId, what, start, end]) => {
    let found = timings.get(taskId);
    if (!found) timings.set(taskId, (found = { model: [], tool: [] }));
    found[what].push([start, end]);
  });
  const leash = await launchLeash(
    {
      ...process.env,
      LOG_LEVEL: 'error',
      LEASH_DEMO: 'false',
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LEASH_WORKERS: String(workers),
    },
    { instrument: join(__dirname, `e2e-bench.instrument${extname(__filename)}`) },
  ).catch((error: unknown) => {
    stopCollecting();
    throw error;
  });
  let subscription: Subscription | undefined;
  let census: SqliteCensus | undefined;
  try {
    // Instrument the running services: the model adapter and the tool, nothing else.
    // The worker threads did the same with theirs as they started.
    instrumentThread(leash.main);

    const bus = leash.engines.bus;
    const done = new Set<string>();
    const failed: string[] = [];
    let wake: (() => void) | undefined;
    subscription = await bus.subscribe('e2e-bench', ['tasks.finished'], async ({ event }) => {
      if (event.type !== 'leash.tasks.finished.v1' || !event.taskId?.startsWith('bench-')) return;
      if (done.has(event.taskId)) return;
      done.add(event.taskId);
      if (event.data.status !== 'succeeded') failed.push(`${event.taskId}: ${event.data.reason}`);
      wake?.();
    });

    log(
      `e2e bench: ${tasks} tasks of 5 tool calls, ${concurrency} in flight, tracing ${options.tracing ? 'on' : 'off'}, ` +
        `${workers} thread(s)${leash.placement.length > 1 ? ` (${leash.placement.map((share) => share.join(' ')).join(' | ')})` : ''}`,
    );
    census = startSqliteCensus();
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    let submitted = 0;
    let reported = started;
    while (done.size < tasks) {
      while (submitted < tasks && submitted - done.size < concurrency) {
        const taskId = `bench-${submitted}`;
        await bus.publish(
          'tasks.requested',
          scenarioTask(scenario, {
            tenantId: `bench-tenant-${submitted % TENANTS}`,
            taskId,
            source: 'bench',
          }),
        );
        submitted += 1;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        // A watchdog, not a pace: tasks.finished wakes the loop.
        setTimeout(resolve, 1_000).unref();
      });
      if (performance.now() - reported >= 10_000) {
        reported = performance.now();
        log(
          `  ${done.size} of ${tasks} tasks finished after ${((reported - started) / 1000).toFixed(0)} s`,
        );
      }
      if (performance.now() - started > 600_000)
        throw new Error(`only ${done.size} of ${tasks} tasks finished in 10 minutes`);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    const counted = census.counts();
    census.stop();
    if (failed.length > 0) {
      throw new Error(
        `${failed.length} task(s) did not succeed, e.g. ${failed.slice(0, 3).join('; ')}`,
      );
    }

    const overheads: number[] = [];
    const models: number[] = [];
    const tools: number[] = [];
    let toolCalls = 0;
    for (const { model, tool } of timings.values()) {
      // Timings from other threads may arrive out of order.
      model.sort((a, b) => a[0] - b[0]);
      tool.sort((a, b) => a[0] - b[0]);
      for (const [s, e] of model) models.push(e - s);
      for (const [s, e] of tool) tools.push(e - s);
      toolCalls += tool.length;
      // Model turn k (0-based) proposed tool call k; the steps between calls 1..4 and 2..5.
      for (let k = 1; k < tool.length && k < model.length; k++) {
        const [modelStart, modelEnd] = model[k];
        const gap = tool[k][0] - tool[k - 1][1];
        if (modelStart < tool[k - 1][1]) continue; // not this turn's model call: do not guess
        overheads.push(gap - (modelEnd - modelStart));
      }
    }
    const sorted = overheads.sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const rss = peakRssMb();
    // Spans are exported in batches; a traced run of hundreds of tasks exports some before the end.
    if (options.tracing && spansExported === 0) {
      throw new Error('runE2eBench({ tracing: true }): no span was exported; tracing was not on');
    }
    const result: E2eBenchResult = {
      tasks,
      workers,
      seconds,
      tasksPerSecond: tasks / seconds,
      steps: sorted.length,
      overheadP50Ms: p50,
      overheadP90Ms: percentile(sorted, 90),
      overheadP99Ms: p99,
      overheadMaxMs: sorted[sorted.length - 1] ?? NaN,
      overheadsMs: sorted,
      modelP50Ms: percentile(
        models.sort((a, b) => a - b),
        50,
      ),
      toolP50Ms: percentile(
        tools.sort((a, b) => a - b),
        50,
      ),
      peakRssMb: rss,
      cpuMsPerTask: (cpu.user + cpu.system) / 1000 / tasks,
      toolCalls,
      spansExported,
      census: counted,
      statementsPerStep: counted.statements / (tasks * 5),
      commitsPerStep: counted.commits / (tasks * 5),
      line:
        `e2e: ${(tasks / seconds).toFixed(1)} tasks/s, step overhead p50 ${p50.toFixed(2)} ms ` +
        `p99 ${p99.toFixed(2)} ms, rss ${rss.toFixed(0)} MB`,
    };
    return result;
  } finally {
    census?.stop();
    stopCollecting();
    await subscription?.close();
    await leash.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `bus.db 120.1/8.00, store.db ...`: statements/commits per step, by file name. */
function censusByFile(census: SqliteCensusCounts, steps: number): string {
  return Object.entries(census.byFile)
    .map(
      ([file, { statements, commits }]) =>
        `${file.replace(/^.*\//, '')} ${(statements / steps).toFixed(1)}/${(commits / steps).toFixed(2)}`,
    )
    .join(', ');
}

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** The figures of one run, as a child prints them for its parent. */
const RESULT_LINE = 'e2e-result: ';

/**
 * Each worker count in a child process of its own, interleaved round by
 * round (so a machine busy for a while slows every count alike).
 */
function compareWorkers(counts: readonly number[], rounds: number): void {
  const runs = new Map<number, E2eBenchResult[]>(counts.map((count) => [count, []]));
  const passOn = ['tasks', 'concurrency'].flatMap((name) => {
    const value = arg(name);
    return value === undefined ? [] : [`--${name}`, value];
  });
  for (let round = 1; round <= rounds; round++) {
    for (const count of counts) {
      const child = spawnSync(
        process.execPath,
        [...process.execArgv, __filename, ...passOn, '--workers', String(count), '--json'],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const line = child.stdout.split('\n').find((l) => l.startsWith(RESULT_LINE));
      if (child.status !== 0 || !line) {
        throw new Error(`the run with ${count} thread(s) failed:\n${child.stderr}`);
      }
      const result = JSON.parse(line.slice(RESULT_LINE.length)) as E2eBenchResult;
      runs.get(count)!.push(result);
      process.stdout.write(`round ${round}, ${count} thread(s): ${describeRun(result)}\n`);
    }
  }
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  for (const [count, results] of runs) {
    process.stdout.write(
      `median of ${results.length}, ${count} thread(s): ` +
        `${median(results.map((r) => r.tasksPerSecond)).toFixed(1)} tasks/s, ` +
        `step p50 ${median(results.map((r) => r.overheadP50Ms)).toFixed(2)} ms ` +
        `p99 ${median(results.map((r) => r.overheadP99Ms)).toFixed(2)} ms, ` +
        `${median(results.map((r) => r.cpuMsPerTask)).toFixed(1)} ms CPU per task, ` +
        `rss ${median(results.map((r) => r.peakRssMb)).toFixed(0)} MB\n`,
    );
  }
}

function describeRun(r: E2eBenchResult): string {
  return (
    `${r.tasksPerSecond.toFixed(1)} tasks/s, step p50 ${r.overheadP50Ms.toFixed(2)} ms ` +
    `p99 ${r.overheadP99Ms.toFixed(2)} ms, ${r.cpuMsPerTask.toFixed(1)} ms CPU per task, ` +
    `rss ${r.peakRssMb.toFixed(0)} MB`
  );
}

async function main(): Promise<void> {
  const counts = (arg('workers') ?? process.env.LEASH_WORKERS ?? '1').split(',').map(Number);
  if (!counts.every((count) => Number.isInteger(count) && count >= 1)) {
    throw new Error('--workers takes whole numbers from 1, comma-separated: --workers 1,2');
  }
  const rounds = Number(arg('rounds') ?? 1);
  if (counts.length > 1 || rounds > 1) {
    compareWorkers(counts, rounds);
    process.exit(0);
  }
  const result = await runE2eBench({
    tasks: Number(arg('tasks') ?? 1000),
    concurrency: Number(arg('concurrency') ?? 32),
    tracing: process.argv.includes('--tracing'),
    workers: counts[0],
  });
  if (process.argv.includes('--json')) {
    const { overheadsMs: _all, ...figures } = result;
    process.stdout.write(`${RESULT_LINE}${JSON.stringify(figures)}\n`);
  }
  const targets = [
    result.overheadP50Ms <= 2 ? 'p50 <= 2 ms: met' : 'p50 <= 2 ms: MISSED',
    result.overheadP99Ms <= 10 ? 'p99 <= 10 ms: met' : 'p99 <= 10 ms: MISSED',
    result.peakRssMb <= 500 ? 'rss <= 500 MB: met' : 'rss <= 500 MB: MISSED',
  ];
  process.stdout.write(
    `${result.tasks} tasks in ${result.seconds.toFixed(1)} s; ${result.steps} steps measured; ` +
      `overhead p90 ${result.overheadP90Ms.toFixed(2)} ms, max ${result.overheadMaxMs.toFixed(2)} ms; ` +
      `model p50 ${result.modelP50Ms.toFixed(3)} ms, tool p50 ${result.toolP50Ms.toFixed(3)} ms; ` +
      `${result.cpuMsPerTask.toFixed(1)} ms CPU per task` +
      `${result.spansExported ? `; ${result.spansExported} spans exported` : ''}\n` +
      `census: ${result.statementsPerStep.toFixed(1)} SQL statements and ` +
      `${result.commitsPerStep.toFixed(2)} commits per step (${censusByFile(result.census, result.tasks * 5)})\n` +
      `targets: ${targets.join(', ')}\n${result.line}\n`,
  );
  // The embedded engines' timers do not all unref; the run is over.
  process.exit(0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench:e2e: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
