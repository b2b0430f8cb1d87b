/*
 * The whole system in its two shapes, side by side in one run: the embedded
 * default (the five services in one process, LeashUnderTest) and the product's
 * shape (the five services and the audit recorder as six processes on Kafka,
 * ClusterUnderTest), each at 1 and at 32 tasks in flight. The task is
 * `it-helpdesk.five-lookups` (five tool calls, one per model turn), scripted
 * model, every gate on.
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
 *
 *   KAFKA_BROKERS=127.0.0.1:<port> npm run bench:e2e:processes [-- --tasks 64]
 *
 * Without KAFKA_BROKERS only the embedded shape runs, and a line says so.
 */
import { randomUUID } from 'node:crypto';
import type { AnyEnvelope } from '@leash/contracts';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { kafkaBrokers } from '@leash/testing';
import { ClusterUnderTest } from '../src/distributed/cluster-under-test';
import { LeashUnderTest, type ScenarioDriver } from '../src/eval/leash-under-test';

const SCENARIO = REFERENCE_SCENARIOS.find((s) => s.id === 'it-helpdesk.five-lookups')!;
const TENANTS = 32;

interface ShapeResult {
  readonly shape: string;
  readonly concurrency: number;
  readonly tasks: number;
  readonly tasksPerSecond: number;
  readonly stepP50Ms: number;
  readonly stepP99Ms: number;
  readonly hops: readonly { readonly hop: string; readonly p50Ms: number }[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const timeOf = (event: AnyEnvelope) => Date.parse(event.time);
const shortType = (event: AnyEnvelope) => event.type.replace(/^leash\./, '').replace(/\.v\d+$/, '');

async function measure(
  shape: string,
  system: ScenarioDriver,
  tasks: number,
  concurrency: number,
): Promise<ShapeResult> {
  const ids: string[] = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < tasks) {
      const n = next++;
      const taskId = await system.submit(SCENARIO, {
        tenantId: `bench-${n % TENANTS}`,
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
  for (const id of ids) {
    const record = system.record(id);
    if (record.finished?.status !== 'succeeded') {
      throw new Error(`${shape}: task ${id} ended ${record.finished?.status ?? 'unfinished'}`);
    }
    const events = [...record.events].sort((a, b) => timeOf(a) - timeOf(b));
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
    tasksPerSecond: tasks / seconds,
    stepP50Ms: percentile(steps, 50),
    stepP99Ms: percentile(steps, 99),
    hops: [...hops]
      .filter(([, gaps]) => gaps.length >= ids.length)
      .map(([hop, gaps]) => ({
        hop,
        p50Ms: percentile(
          [...gaps].sort((a, b) => a - b),
          50,
        ),
      }))
      .sort((a, b) => b.p50Ms - a.p50Ms),
  };
}

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const tasks = Number(arg('tasks') ?? 64);
  const tenants = Array.from({ length: TENANTS }, (_, i) => `bench-${i}`);
  const brokers = kafkaBrokers();
  const shapes: { name: string; start: () => Promise<ScenarioDriver> }[] = [
    {
      name: 'embedded',
      start: () => LeashUnderTest.start({ tenants, reviewers: false }),
    },
  ];
  if (brokers.length > 0) {
    shapes.push({
      name: 'kafka-6-processes',
      start: () =>
        ClusterUnderTest.start({
          brokers,
          tenants,
          topicPrefix: `bench-${randomUUID().slice(0, 8)}.`,
          reviewers: false,
        }),
    });
  } else {
    process.stdout.write('kafka: skipped, KAFKA_BROKERS is unset (deploy/local/kafka.sh start)\n');
  }
  const results: ShapeResult[] = [];
  for (const { name, start } of shapes) {
    const system = await start();
    try {
      // A few tasks first: connections, topic metadata and JIT warm up.
      await measure(name, system, 4, 4);
      for (const concurrency of [1, 32]) {
        results.push(
          await measure(name, system, concurrency === 1 ? Math.min(tasks, 16) : tasks, concurrency),
        );
      }
    } finally {
      await system.stop();
    }
  }
  for (const r of results) {
    process.stdout.write(
      `${r.shape.padEnd(18)} ${String(r.concurrency).padStart(2)} in flight: ` +
        `${r.tasksPerSecond.toFixed(1)} tasks/s over ${r.tasks} tasks, ` +
        `step p50 ${r.stepP50Ms.toFixed(1)} ms p99 ${r.stepP99Ms.toFixed(1)} ms; ` +
        `slowest hops ${r.hops
          .slice(0, 3)
          .map((h) => `${h.hop} ${h.p50Ms.toFixed(1)} ms`)
          .join(', ')}\n`,
    );
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:e2e:processes: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
