import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnKafka, waitFor } from '@leash/testing';
import { ROOT } from '../e2e/support/processes';
import { runGoldenSet, type GoldenReport } from '../eval/golden-set';
import { ClusterUnderTest } from './cluster-under-test';
import { freePort } from './local-cluster';

/** deploy/local/kafka.sh for a broker of this spec's own (its home and port). */
function kafkaScript(command: 'start' | 'stop', env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(join(ROOT, 'deploy/local/kafka.sh'), [command], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`kafka.sh ${command} exited ${code}: ${err}`)),
    );
  });
}

/*
 * The broker stops for a few seconds while the golden set runs on the six
 * processes, then starts again on the same port and data. Every scenario
 * must still pass its checks: nothing lost, no tool effect twice, no cap
 * exceeded. The broker is one of this spec's own (the shared one serves
 * other specs), started by the same script from the jars already resolved.
 * LEASH_OUTAGE_MS sets how long it is away (default 5 s; 45 s passes too, past
 * kafkajs's own retries, so its consumers crash and start again).
 */
describeOnKafka('the golden set while the broker stops and starts again', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let report: GoldenReport;
  let restarted = false;
  let runningAtStop = 0;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'leash-broker-restart-'));
    const jars = join(ROOT, '.leash/kafka/jars');
    if (existsSync(jars)) {
      mkdirSync(join(home, 'kafka'));
      symlinkSync(jars, join(home, 'kafka/jars'));
    }
    const port = await freePort();
    env = { LEASH_KAFKA_HOME: join(home, 'kafka'), KAFKA_PORT: String(port) };
    await kafkaScript('start', env);
    let outage: Promise<void> | undefined;
    report = await runGoldenSet({
      timeoutMs: 300_000,
      system: async (tenants) => {
        const system = await ClusterUnderTest.start({
          brokers: [`127.0.0.1:${port}`],
          tenants,
          topicPrefix: `outage-${randomUUID().slice(0, 8)}.`,
          partitions: 4,
        });
        // Once every task is submitted (an upstream system's publish fails while the broker
        // is away; that is its to retry) and running: the broker away for about five seconds.
        let submitted = 0;
        const ids: string[] = [];
        let allSubmitted!: () => void;
        const submittedAll = new Promise<void>((resolve) => (allSubmitted = resolve));
        const submit = system.submit.bind(system);
        system.submit = async (...args: Parameters<typeof submit>) => {
          const taskId = await submit(...args);
          ids.push(taskId);
          if (++submitted === tenants.length) allSubmitted();
          return taskId;
        };
        outage = (async () => {
          await submittedAll;
          // Mid-run: some task has gone past its request.
          await waitFor(() => ids.some((id) => system.record(id).events.length > 1), {
            timeoutMs: 60_000,
            description: 'a task under way',
          });
          await kafkaScript('stop', env);
          runningAtStop = ids.filter((id) => !system.record(id).finished).length;
          // Not a wait for an event: how long the broker stays away is the scenario itself.
          await new Promise((resolve) =>
            setTimeout(resolve, Number(process.env.LEASH_OUTAGE_MS ?? 5_000)),
          );
          await kafkaScript('start', env);
          restarted = true;
        })();
        const stop = system.stop.bind(system);
        system.stop = async () => {
          await outage?.catch(() => undefined);
          // A task left unfinished: the processes' logs say why, and go with the cluster.
          const unfinished = ids.filter((id) => !system.record(id).finished);
          if (unfinished.length > 0) {
            // Where each stopped: the last event of it the observer saw.
            const last = unfinished.map((id) => {
              const events = system.record(id).events;
              const event = events.at(-1);
              return `${id} after ${events.length} event(s), last ${event?.type ?? 'none'} from ${event?.source ?? '-'}`;
            });
            process.stderr.write(
              `broker-restart: ${unfinished.length} task(s) unfinished:\n  ${last.join('\n  ')}\nthe processes' logs:\n${system.logTails()}\n`,
            );
          }
          await stop();
        };
        return system;
      },
    });
    await outage;
  }, 600_000);

  afterAll(async () => {
    if (env) await kafkaScript('stop', env).catch(() => undefined);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('stopped and started the broker mid-run', () => {
    expect(restarted).toBe(true);
    // Mid-run: tasks were still running when the broker went away.
    expect(runningAtStop).toBeGreaterThan(0);
  });

  it('passes every golden scenario', () => {
    expect(report.results.length).toBeGreaterThan(0);
    expect(
      report.results.filter((r) => !r.passed).map((r) => [r.scenario.id, r.actual, r.failures]),
    ).toEqual([]);
  });
});
