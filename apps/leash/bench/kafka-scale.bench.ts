/*
 * The product's shape on Kafka with N processes of every kind (the five
 * services and the audit recorder; each kind's N instances are one consumer
 * group and split its partitions), for each N of --instances. Per N, at each
 * --in-flight count, it prints tasks/s (as bench:e2e:processes measures it,
 * see shape-measure.ts) and what each kind of process cost: CPU-seconds
 * (user + system, from /proc/<pid>/stat, summed over the kind's instances)
 * over the round, per finished task. The broker's CPU is shown too when it
 * runs from deploy/local/kafka.sh, and this process's (the driver and the
 * observer), which a deployment does not have.
 * Also per round: events each kind handled (its /metrics), the budget's
 * time per decision, and events the observer saw twice under one id. A
 * task that does not succeed is printed with its reason, and the run goes on.
 *
 * On a small machine throughput is CPU-bound long before Kafka or the
 * services' design limit it; the figures to read are the CPU ms per task and
 * whether they stay flat as N grows (coordination overhead). The last lines
 * are the capacity model of docs/capacity.md fed with the first N's costs, and
 * one tenant's ceiling: every task on one tenant, whose budget requests are
 * decided one at a time.
 *
 *   KAFKA_BROKERS=127.0.0.1:<port> npm run bench:kafka:scale [-- --instances 1,2,4 --tasks 96 --in-flight 32]
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { kafkaBrokers } from '@leash/testing';
import {
  cpuBoundTasksPerSecond,
  parseCountList,
  planCapacity,
  tenantCeiling,
  type ProcessCost,
} from '../src/capacity/capacity-model';
import {
  cpuSecondsFromProcStat,
  handledByTopic,
  type HandledByTopic,
} from '../src/capacity/process-meter';
import { ClusterUnderTest } from '../src/distributed/cluster-under-test';
import { CLUSTER_PROCESSES } from '../src/distributed/local-cluster';
import { BENCH_TENANTS, arg, describeRound, measure, type ShapeResult } from './shape-measure';

const ROOT = resolve(__dirname, '../../..');
const PARTITIONS = 8;
const BROKER = 'kafka broker';
const DRIVER = 'bench driver';

/** What every process has used so far, by kind (instances summed); the broker and this process apart. */
interface Reading {
  readonly cpuSeconds: Map<string, number>;
  /** Events handled and time handling them, by kind, then topic (without the run's prefix). */
  readonly handled: Map<string, Map<string, HandledByTopic>>;
}

async function read(system: ClusterUnderTest, prefix: string): Promise<Reading> {
  const cpuSeconds = new Map<string, number>();
  const handled = new Map<string, Map<string, HandledByTopic>>();
  for (const p of system.cluster.running()) {
    const used = cpuOf(p.child.pid);
    if (used !== undefined) cpuSeconds.set(p.name, (cpuSeconds.get(p.name) ?? 0) + used);
    const page = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
    const mine = handled.get(p.name) ?? new Map<string, HandledByTopic>();
    for (const [topic, h] of handledByTopic(page, (t) => t.slice(prefix.length))) {
      const sum = mine.get(topic) ?? { events: 0, seconds: 0 };
      mine.set(topic, { events: sum.events + h.events, seconds: sum.seconds + h.seconds });
    }
    handled.set(p.name, mine);
  }
  const broker = cpuOf(brokerPid());
  if (broker !== undefined) cpuSeconds.set(BROKER, broker);
  const own = process.cpuUsage();
  cpuSeconds.set(DRIVER, (own.user + own.system) / 1e6);
  return { cpuSeconds, handled };
}

function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return cpuSecondsFromProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function brokerPid(): number | undefined {
  const file = join(process.env.LEASH_KAFKA_HOME ?? join(ROOT, '.leash/kafka'), 'run/kafka.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
}

interface CostedRound {
  readonly instances: number;
  readonly round: ShapeResult;
  /** CPU ms per finished task, by kind, the broker and the driver too. */
  readonly cpuMsPerTask: ReadonlyMap<string, number>;
  /** Events each kind handled per finished task. */
  readonly eventsPerTask: ReadonlyMap<string, number>;
  /** The budget service's mean time to handle one budget request, in ms. */
  readonly budgetRequestMs: number;
  /** The machine's 1-minute load average at the round's end: work of others shares the cores too. */
  readonly load: number;
  /** Cores one instance of each kind used idle, measured before the round. */
  readonly idleCores: ReadonlyMap<string, number>;
}

const IDLE_SECONDS = 5;

/** Cores one instance of each kind uses with no work: the cluster is left alone for a few seconds. */
async function idleCores(
  system: ClusterUnderTest,
  prefix: string,
  instances: number,
): Promise<Map<string, number>> {
  const before = await read(system, prefix);
  const started = performance.now();
  await new Promise((done) => setTimeout(done, IDLE_SECONDS * 1000));
  const after = await read(system, prefix);
  const seconds = (performance.now() - started) / 1000;
  const idle = new Map<string, number>();
  for (const name of CLUSTER_PROCESSES) {
    const used = (after.cpuSeconds.get(name) ?? 0) - (before.cpuSeconds.get(name) ?? 0);
    idle.set(name, used / seconds / instances);
  }
  return idle;
}

async function costedRound(
  system: ClusterUnderTest,
  prefix: string,
  idle: ReadonlyMap<string, number>,
  instances: number,
  tasks: number,
  concurrency: number,
  tenants: readonly string[],
): Promise<CostedRound> {
  const before = await read(system, prefix);
  // A refused task is reported, not fatal: the round's costs still stand.
  const round = await measure(`kafka-${instances}x`, system, tasks, concurrency, tenants, true);
  const after = await read(system, prefix);
  const cpuMsPerTask = new Map<string, number>();
  for (const [name, seconds] of after.cpuSeconds) {
    cpuMsPerTask.set(name, ((seconds - (before.cpuSeconds.get(name) ?? 0)) * 1000) / tasks);
  }
  const eventsPerTask = new Map<string, number>();
  for (const [name, topics] of after.handled) {
    let events = 0;
    for (const [topic, h] of topics)
      events += h.events - (before.handled.get(name)?.get(topic)?.events ?? 0);
    eventsPerTask.set(name, events / tasks);
  }
  const requests = (r: Reading) =>
    r.handled.get('budget')?.get('budget.requests') ?? { events: 0, seconds: 0 };
  const handledRequests = requests(after).events - requests(before).events;
  const budgetRequestMs =
    ((requests(after).seconds - requests(before).seconds) * 1000) / handledRequests;
  return {
    instances,
    round,
    cpuMsPerTask,
    eventsPerTask,
    budgetRequestMs,
    load: loadavg()[0]!,
    idleCores: idle,
  };
}

/** Each kind's cost per task above idle, and its idle cost per instance. */
const serviceCosts = (r: CostedRound): ProcessCost[] =>
  CLUSTER_PROCESSES.map((name) => {
    const idleCores = r.idleCores.get(name) ?? 0;
    const idleMsPerTask = (idleCores * r.instances * r.round.seconds * 1000) / r.round.tasks;
    return { name, cpuMsPerTask: (r.cpuMsPerTask.get(name) ?? 0) - idleMsPerTask, idleCores };
  });

function describeCosts(r: CostedRound, base: CostedRound): string {
  const services = serviceCosts(r);
  const total = (ms: (name: string) => number) =>
    CLUSTER_PROCESSES.reduce((sum, name) => sum + ms(name), 0);
  const cores = cpus().length;
  const ours = [...r.cpuMsPerTask.values()].reduce((sum, ms) => sum + ms, 0);
  const servicesBusy = (total((n) => r.cpuMsPerTask.get(n) ?? 0) * r.round.tasksPerSecond) / 1000;
  // What the cores the services got this round would finish at the first round's cost per task.
  const predicted = cpuBoundTasksPerSecond(
    serviceCosts(base).map((c) => ({ ...c, idleCores: r.idleCores.get(c.name) ?? 0 })),
    servicesBusy,
    r.instances,
  );
  const perEvent = (name: string) =>
    (r.cpuMsPerTask.get(name) ?? 0) / (r.eventsPerTask.get(name) ?? NaN);
  return [
    `  CPU ms per task (above idle): ${services
      .map(
        (c) => `${c.name} ${r.cpuMsPerTask.get(c.name)!.toFixed(1)} (${c.cpuMsPerTask.toFixed(1)})`,
      )
      .join(', ')}; ` +
      `services ${total((n) => r.cpuMsPerTask.get(n) ?? 0).toFixed(1)} (${services
        .reduce((sum, c) => sum + c.cpuMsPerTask, 0)
        .toFixed(1)})` +
      (r.cpuMsPerTask.has(BROKER) ? `; ${BROKER} ${r.cpuMsPerTask.get(BROKER)!.toFixed(1)}` : '') +
      `; ${DRIVER} ${r.cpuMsPerTask.get(DRIVER)!.toFixed(1)}`,
    `  idle cores per instance: ${services.map((c) => `${c.name} ${c.idleCores!.toFixed(3)}`).join(', ')}`,
    `  events handled per task (CPU ms per event): ${CLUSTER_PROCESSES.map(
      (name) =>
        `${name} ${(r.eventsPerTask.get(name) ?? 0).toFixed(1)} (${perEvent(name).toFixed(2)})`,
    ).join(', ')}; a budget request takes budget ${r.budgetRequestMs.toFixed(1)} ms to decide`,
    `  events on the task topics per task: ${[...r.round.eventsPerTask]
      .map(([type, n]) => `${type} ${n.toFixed(2)}`)
      .join(', ')}; ${r.round.duplicatesPerTask.toFixed(2)} of them again under an id already seen`,
    ...r.round.failed.map(
      (failure) =>
        `  did not succeed (in the figures per task, not in steps or events): ${failure}`,
    ),
    `  all of it: ${ours.toFixed(1)} CPU ms per task, ${((ours * r.round.tasksPerSecond) / 1000).toFixed(2)} of ${cores} cores ` +
      `(load average ${r.load.toFixed(1)}); the services had ${servicesBusy.toFixed(2)} cores: ` +
      `at ${base.instances} of each's cost per task and this round's idle cost they would finish ` +
      `${predicted.toFixed(1)} tasks/s, measured ${r.round.tasksPerSecond.toFixed(1)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const brokers = kafkaBrokers();
  if (brokers.length === 0) {
    process.stderr.write(
      'bench:kafka:scale needs a broker: deploy/local/kafka.sh start, then KAFKA_BROKERS=...\n',
    );
    process.exit(2);
  }
  const counts = parseCountList(arg('instances') ?? '1,2,4', 'instances', PARTITIONS);
  const tasks = Number(arg('tasks') ?? 96);
  const inFlight = parseCountList(arg('in-flight') ?? '32', 'in-flight', 256);
  const cores = cpus().length;
  process.stdout.write(
    `bench:kafka:scale: ${tasks} tasks of it-helpdesk.five-lookups per round, ${PARTITIONS} partitions a topic, ` +
      `${cores} cores. With N processes of each of ${CLUSTER_PROCESSES.length} kinds on ${cores} cores the ` +
      `rounds are CPU-bound: read the CPU ms per task, and whether it stays flat as N grows.\n`,
  );
  const rounds: CostedRound[] = [];
  let oneTenant: CostedRound | undefined;
  for (const instances of counts) {
    const prefix = `scale-${randomUUID().slice(0, 8)}.`;
    const system = await ClusterUnderTest.start({
      brokers,
      tenants: BENCH_TENANTS,
      topicPrefix: prefix,
      partitions: PARTITIONS,
      instances,
      reviewers: false,
    });
    try {
      // Connections, topic metadata, group rebalances and the JIT settle first.
      await measure('warm-up', system, 16, 16);
      const idle = await idleCores(system, prefix, instances);
      for (const concurrency of inFlight) {
        const r = await costedRound(
          system,
          prefix,
          idle,
          instances,
          tasks,
          concurrency,
          BENCH_TENANTS,
        );
        process.stdout.write(
          `${instances} of each (${instances * CLUSTER_PROCESSES.length} processes) ${describeRound(r.round)}\n${describeCosts(r, rounds[0] ?? r)}\n`,
        );
        rounds.push(r);
      }
      if (oneTenant === undefined) {
        oneTenant = await costedRound(system, prefix, idle, instances, tasks, inFlight.at(-1)!, [
          'bench-0',
        ]);
      }
    } finally {
      await system.stop();
    }
  }

  const base = rounds[0]!;
  process.stdout.write(
    `\ncost per 1,000 tasks at ${base.instances} of each, ${base.round.concurrency} in flight:\n`,
  );
  for (const tasksPerMinute of [1_000, 10_000, 100_000]) {
    const plan = planCapacity({ tasksPerMinute, costs: serviceCosts(base) });
    process.stdout.write(
      `  ${tasksPerMinute} tasks/min: ${plan.processes
        .map((p) => `${p.name} ${p.cores.toFixed(2)} cores -> ${p.instances}`)
        .join(', ')}; ${plan.partitions} partitions; ` +
        `${plan.cores.toFixed(1)} cores, ${plan.cpuSecondsPerThousandTasks.toFixed(1)} CPU-s per 1,000 tasks ` +
        `(services, idle cost included, the broker apart)\n`,
    );
  }
  if (oneTenant) {
    const events = oneTenant.round.eventsPerTask;
    // Each budget request ends in a model decision or a funded (or refused) action.
    const decisionsPerTask =
      (events.get('budget.decided') ?? 0) + (events.get('actions.funded') ?? 0);
    process.stdout.write(
      `\none tenant, ${oneTenant.round.concurrency} in flight: ${oneTenant.round.tasksPerSecond.toFixed(1)} tasks/s ` +
        `(${decisionsPerTask.toFixed(1)} budget decisions a task: ` +
        `${(oneTenant.round.tasksPerSecond * decisionsPerTask).toFixed(0)} decisions/s); ` +
        `${base.round.tasksPerSecond.toFixed(1)} tasks/s over ${BENCH_TENANTS.length} tenants\n` +
        `${describeRound(oneTenant.round)}\n${describeCosts(oneTenant, base)}\n`,
    );
    // A tenant's requests are decided one at a time: its ceiling is one over the time a decision holds its lane.
    const ceiling = tenantCeiling({
      decisionMs: oneTenant.budgetRequestMs,
      decisionsPerTask,
      usdPerReservation: 0.01,
    });
    process.stdout.write(
      `one tenant's ceiling at ${oneTenant.budgetRequestMs.toFixed(1)} ms a decision: ` +
        `${ceiling.decisionsPerSecond.toFixed(0)} decisions/s, ${ceiling.tasksPerSecond.toFixed(1)} tasks/s of this shape, ` +
        `$${ceiling.usdPerSecond.toFixed(2)}/s at $0.01 a reservation\n`,
    );
  }
  process.stdout.write(
    `\nevents per task: ${[...base.round.eventsPerTask]
      .map(([type, n]) => `${type} ${n.toFixed(1)}`)
      .join(', ')}\n`,
  );
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:kafka:scale: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
