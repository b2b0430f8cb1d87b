/*
 * The embedded bus, end to end through createBus: encode, send, fetch,
 * decode/validate, handler, commit. 1 KB events over 8 partitions, one producer
 * and one consumer group, durable in a temp file, all in this process.
 *
 *   (a) throughput: publish N events as fast as the producer can (a window of
 *       publishes in flight, as a Kafka producer batches), timed until every
 *       one is handled and its offset committed;
 *   (b) latency: publish-to-handler p50/p99 at a fixed 1,000 events/s.
 *
 * With KAFKA_BROKERS set (deploy/local/kafka.sh start), the same two runs go
 * through the Kafka transport too, on topics of their own, and both engines'
 * figures are printed side by side.
 *
 * npm run bench:bus  [-- --events 100000 --kafka-events 20000 --rate 1000 --seconds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Kafka, logLevel } from 'kafkajs';
import { createBus, type Bus, type Delivery } from '@leash/bus';
import { SqliteTransport } from '@leash/bus-embedded';
import { KafkaTransport } from '@leash/bus-kafka';
import { createEnvelope, encodeEnvelope, type Envelope } from '@leash/contracts';

const TOPIC = 'tasks.requested';
const PARTITIONS = 8;
const EVENT_BYTES = 1024;
const WINDOW = 1000; // publishes in flight during the throughput run

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

type TaskEvent = Envelope<'leash.tasks.requested.v1'>;

/** A task event whose encoded value is about EVENT_BYTES long. */
function makeEvent(seq: number): TaskEvent {
  const base = createEnvelope(
    'leash.tasks.requested.v1',
    { agent: 'bench', input: 'x', metadata: { seq: String(seq) } },
    { source: 'bench', tenantId: 'tenant-bench', taskId: `task-${seq % 1000}` },
  );
  const size = encodeEnvelope(TOPIC, base).value.length;
  return { ...base, data: { ...base.data, input: 'x'.repeat(1 + EVENT_BYTES - size) } };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

function committedTotal(file: string, group: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const sum = db
      .prepare('SELECT coalesce(sum(next_offset), 0) FROM bus_offsets WHERE group_name = ?')
      .pluck()
      .get(group) as number;
    return sum;
  } finally {
    db.close();
  }
}

/** An engine under test: opens a fresh bus per run and tells how many offsets a group committed. */
interface Engine {
  readonly name: string;
  open(run: string): Promise<Bus>;
  committed(run: string, group: string): Promise<number>;
}

function embeddedEngine(dir: string): Engine {
  const fileOf = (run: string) => join(dir, `${run}.db`);
  return {
    name: 'embedded',
    async open(run) {
      const transport = new SqliteTransport({
        filename: fileOf(run),
        defaultPartitions: PARTITIONS,
      });
      return createBus({ transport, source: 'bench', partitions: PARTITIONS });
    },
    async committed(run, group) {
      return committedTotal(fileOf(run), group);
    },
  };
}

function kafkaEngine(brokers: string[]): Engine {
  // Topics of this bench run only: a broker keeps earlier runs' records.
  const prefix = `bench-${Date.now()}.`;
  const topicPrefix = (run: string) => `${prefix}${run}.`;
  return {
    name: 'kafka',
    async open(run) {
      const transport = new KafkaTransport({
        brokers,
        clientId: 'leash-bench',
        replicationFactor: 1,
      });
      return createBus({
        transport,
        source: 'bench',
        partitions: PARTITIONS,
        topicPrefix: topicPrefix(run),
      });
    },
    async committed(run, group) {
      const admin = new Kafka({
        brokers,
        clientId: 'leash-bench',
        logLevel: logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        const [offsets] = await admin.fetchOffsets({
          groupId: group,
          topics: [`${topicPrefix(run)}${TOPIC}`],
        });
        return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      } finally {
        await admin.disconnect();
      }
    },
  };
}

async function throughput(engine: Engine, events: number): Promise<number> {
  const bus = await engine.open('throughput');
  const prepared = Array.from({ length: events }, (_, i) => makeEvent(i));
  console.log(`event size: ${encodeEnvelope(TOPIC, prepared[0]).value.length} bytes of value`);
  let handled = 0;
  await bus.subscribe('bench-throughput', [TOPIC], async () => {
    handled++;
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < events; i += WINDOW) {
    const window = prepared.slice(i, i + WINDOW).map((event) => bus.publish(TOPIC, event));
    await Promise.all(window);
  }
  const published = performance.now();
  await until(() => handled >= events);
  const handledAt = performance.now();
  // Commits may trail the handlers; wait until the engine has them all.
  while ((await engine.committed('throughput', 'bench-throughput')) < events) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const done = performance.now();
  const used = process.cpuUsage(cpu);
  await bus.close();
  const rate = Math.round(events / ((done - started) / 1000));
  console.log(
    `${engine.name} throughput: ${events} events published in ${(published - started).toFixed(0)} ms, ` +
      `handled by ${(handledAt - started).toFixed(0)} ms, committed by ${(done - started).toFixed(0)} ms ` +
      `-> ${rate} events/s`,
  );
  // CPU per event reads true on a busy machine, where wall-clock rates do not.
  console.log(
    `${engine.name} throughput CPU (this process; a broker's is elsewhere): ${((used.user + used.system) / events).toFixed(1)} µs per event ` +
      `(all threads), ${Math.round(1e6 / ((used.user + used.system) / events))} events per CPU-second`,
  );
  return rate;
}

async function latency(engine: Engine, rate: number, seconds: number): Promise<[number, number]> {
  const bus = await engine.open('latency');
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let measuring = false;
  await bus.subscribe('bench-latency', [TOPIC], async (delivery: Delivery) => {
    const t0 = sentAt.get(delivery.event.id);
    if (t0 !== undefined && measuring) samples.push(performance.now() - t0);
    sentAt.delete(delivery.event.id);
  });
  const run = async (total: number) => {
    const start = performance.now();
    const pending: Promise<unknown>[] = [];
    let seq = 0;
    await new Promise<void>((resolve) => {
      // Publish whatever is due by the clock, so the rate holds even if a timer fires late.
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
        for (; seq < due; seq++) {
          const event = makeEvent(seq);
          sentAt.set(event.id, performance.now());
          pending.push(bus.publish(TOPIC, event));
        }
        if (seq >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await Promise.all(pending);
    await until(() => sentAt.size === 0);
  };
  await run(Math.max(1, Math.round(rate / 2))); // warm-up: JIT, page cache, statements
  measuring = true;
  const total = Math.round(rate * seconds);
  await run(total);
  await bus.close();
  samples.sort((a, b) => a - b);
  const [p50, p99] = [percentile(samples, 50), percentile(samples, 99)];
  console.log(
    `${engine.name} latency: ${samples.length} events at ${rate}/s: p50 ${p50.toFixed(2)} ms, ` +
      `p90 ${percentile(samples, 90).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ` +
      `max ${samples[samples.length - 1].toFixed(2)} ms`,
  );
  return [p50, p99];
}

async function main(): Promise<void> {
  const events = arg('events', 100_000);
  const rate = arg('rate', 1000);
  const seconds = arg('seconds', 5);
  const kafkaEvents = arg('kafka-events', 20_000);
  const dir = mkdtempSync(join(tmpdir(), 'leash-bus-bench-'));
  const brokers = process.env.KAFKA_BROKERS?.split(',').filter((b) => b.trim() !== '');
  console.log(`load average: ${loadavg()[0].toFixed(2)} on this machine`);
  try {
    const runs: { engine: Engine; events: number }[] = [{ engine: embeddedEngine(dir), events }];
    if (brokers && brokers.length > 0)
      runs.push({ engine: kafkaEngine(brokers), events: kafkaEvents });
    else
      console.log('kafka: skipped (KAFKA_BROKERS is unset; deploy/local/kafka.sh start prints it)');
    const results: string[] = [];
    for (const { engine, events: count } of runs) {
      const perSecond = await throughput(engine, count);
      const [p50, p99] = await latency(engine, rate, seconds);
      results.push(
        `${engine.name.padEnd(8)} ${String(perSecond).padStart(7)} events/s   p50 ${p50.toFixed(2)} ms   p99 ${p99.toFixed(2)} ms`,
      );
    }
    console.log(`\n1 KB events, ${PARTITIONS} partitions; latency at ${rate} events/s:`);
    for (const line of results) console.log(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
