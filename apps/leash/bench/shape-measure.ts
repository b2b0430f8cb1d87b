/*
 * One round of the whole system under load, as bench:e2e:processes and
 * bench:kafka:scale measure it: `tasks` runs of `it-helpdesk.five-lookups`
 * (five tool calls, one per model turn; scripted model, every gate on),
 * `concurrency` of them in flight, spread over `tenants`.
 *
 * Measured from the events an observer in this process sees, by their `time`
 * (stamped by the service that produced each, all on this machine's clock):
 * - tasks/s: tasks finished per second, first submission to last finish.
 * - step: from a task's actions.completed to its next one (steps 2..5). The
 *   scripted model and the tool take well under a millisecond, so a step is
 *   the control plane's overhead: the observation, the model's budget, the
 *   proposal, the policy, the budget, approvals and the executor.
 * - hops: the median gap between consecutive events of a step, by pair of
 *   event types: where a step's time goes.
 * - eventsPerTask: events of each type one task produced on the task topics.
 * - duplicatesPerTask: of those, deliveries of an event id seen before (at
 *   least once delivery: a handler that ran again published again).
 */
import { randomUUID } from 'node:crypto';
import type { AnyEnvelope } from '@leash/contracts';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import type { ScenarioDriver } from '../src/eval/leash-under-test';

export const SCENARIO = REFERENCE_SCENARIOS.find((s) => s.id === 'it-helpdesk.five-lookups')!;
/** The tenants the benchmarks spread tasks over (budget requests are ordered per tenant). */
export const BENCH_TENANTS: readonly string[] = Array.from({ length: 32 }, (_, i) => `bench-${i}`);

export interface ShapeResult {
  readonly shape: string;
  readonly concurrency: number;
  readonly tasks: number;
  readonly seconds: number;
  readonly tasksPerSecond: number;
  readonly stepP50Ms: number;
  readonly stepP99Ms: number;
  readonly hops: readonly { readonly hop: string; readonly p50Ms: number }[];
  readonly eventsPerTask: ReadonlyMap<string, number>;
  readonly duplicatesPerTask: number;
  /** Tasks that did not succeed, `<id> ended <status>: <reason>`; only when failures are tolerated. */
  readonly failed: readonly string[];
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const timeOf = (event: AnyEnvelope) => Date.parse(event.time);
const shortType = (event: AnyEnvelope) => event.type.replace(/^leash\./, '').replace(/\.v\d+$/, '');

export async function measure(
  shape: string,
  system: ScenarioDriver,
  tasks: number,
  concurrency: number,
  tenants: readonly string[] = BENCH_TENANTS,
  /** Report tasks that did not succeed in `failed` (left out of the figures) instead of throwing. */
  tolerateFailures = false,
): Promise<ShapeResult> {
  const ids: string[] = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < tasks) {
      const n = next++;
      const taskId = await system.submit(SCENARIO, {
        tenantId: tenants[n % tenants.length]!,
        taskId: `${shape}-${concurrency}-${n}-${randomUUID().slice(0, 8)}`,
      });
      ids.push(taskId);
      await system.finished([taskId], 120_000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;

  const steps: number[] = [];
  const hops = new Map<string, number[]>();
  const eventCounts = new Map<string, number>();
  let duplicates = 0;
  const failed: string[] = [];
  for (const id of ids) {
    const record = system.record(id);
    if (record.finished?.status !== 'succeeded') {
      const failure = `${id} ended ${record.finished?.status ?? 'unfinished'}: ${record.finished?.reason ?? ''}`;
      if (!tolerateFailures) throw new Error(`${shape}: task ${failure}`);
      failed.push(failure);
      continue;
    }
    const events = [...record.events].sort((a, b) => timeOf(a) - timeOf(b));
    duplicates += events.length - new Set(events.map((e) => e.id)).size;
    for (const event of events) {
      eventCounts.set(shortType(event), (eventCounts.get(shortType(event)) ?? 0) + 1);
    }
    const completed = events.filter((e) => e.type === 'leash.actions.completed.v1');
    for (let k = 1; k < completed.length; k++) {
      const from = timeOf(completed[k - 1]!);
      const to = timeOf(completed[k]!);
      steps.push(to - from);
      const inStep = events.filter((e) => timeOf(e) >= from && timeOf(e) <= to);
      for (let i = 1; i < inStep.length; i++) {
        const hop = `${shortType(inStep[i - 1]!)} -> ${shortType(inStep[i]!)}`;
        const list = hops.get(hop) ?? [];
        list.push(timeOf(inStep[i]!) - timeOf(inStep[i - 1]!));
        hops.set(hop, list);
      }
    }
  }
  steps.sort((a, b) => a - b);
  return {
    shape,
    concurrency,
    tasks,
    seconds,
    tasksPerSecond: tasks / seconds,
    stepP50Ms: percentile(steps, 50),
    stepP99Ms: percentile(steps, 99),
    hops: [...hops]
      .filter(([, gaps]) => gaps.length >= ids.length - failed.length)
      .map(([hop, gaps]) => ({
        hop,
        p50Ms: percentile(
          [...gaps].sort((a, b) => a - b),
          50,
        ),
      }))
      .sort((a, b) => b.p50Ms - a.p50Ms),
    eventsPerTask: new Map(
      [...eventCounts].map(([type, n]) => [type, n / (ids.length - failed.length)]),
    ),
    duplicatesPerTask: duplicates / (ids.length - failed.length),
    failed,
  };
}

/** `--name value` from the command line. */
export function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** One line of a round's figures. */
export function describeRound(r: ShapeResult): string {
  return (
    `${r.shape.padEnd(18)} ${String(r.concurrency).padStart(2)} in flight: ` +
    `${r.tasksPerSecond.toFixed(1)} tasks/s over ${r.tasks} tasks, ` +
    `step p50 ${r.stepP50Ms.toFixed(1)} ms p99 ${r.stepP99Ms.toFixed(1)} ms; ` +
    `slowest hops ${r.hops
      .slice(0, 3)
      .map((h) => `${h.hop} ${h.p50Ms.toFixed(1)} ms`)
      .join(', ')}`
  );
}
