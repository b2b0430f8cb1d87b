/*
 * The whole system in its two shapes, side by side in one run: the embedded
 * default (the five services in one process, LeashUnderTest) and the product's
 * shape (the five services and the audit recorder as six processes on Kafka,
 * ClusterUnderTest), each at 1 and at 32 tasks in flight. The task is
 * `it-helpdesk.five-lookups` (five tool calls, one per model turn), scripted
 * model, every gate on. What a round measures (tasks/s, step, hops) is
 * described in shape-measure.ts.
 *
 *   KAFKA_BROKERS=127.0.0.1:<port> npm run bench:e2e:processes [-- --tasks 64]
 *
 * Without KAFKA_BROKERS only the embedded shape runs, and a line says so.
 */
import { randomUUID } from 'node:crypto';
import { kafkaBrokers } from '@leash/testing';
import { ClusterUnderTest } from '../src/distributed/cluster-under-test';
import { LeashUnderTest, type ScenarioDriver } from '../src/eval/leash-under-test';
import { BENCH_TENANTS, arg, describeRound, measure, type ShapeResult } from './shape-measure';

async function main(): Promise<void> {
  const tasks = Number(arg('tasks') ?? 64);
  const tenants = BENCH_TENANTS;
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
  for (const r of results) process.stdout.write(`${describeRound(r)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:e2e:processes: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
