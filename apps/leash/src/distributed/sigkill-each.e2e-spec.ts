import { randomUUID } from 'node:crypto';
import { describeOnKafka, waitFor } from '@leash/testing';
import { runGoldenSet, type GoldenReport } from '../eval/golden-set';
import { ClusterUnderTest } from './cluster-under-test';
import { CLUSTER_PROCESSES } from './local-cluster';

/** A small deterministic generator, so a failing run can be replayed from its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/*
 * Each process of the cluster (the five services and the audit recorder) is
 * SIGKILLed in turn at a random point while the golden set runs, and
 * restarted with the same instance id and store. Every scenario must still
 * pass its checks: nothing lost (every task finishes as expected), no tool
 * effect twice, no cap exceeded.
 */
describeOnKafka('the golden set while each process is SIGKILLed in turn', (brokers) => {
  const seed = Number(process.env.LEASH_CHAOS_SEED ?? Date.now() % 1_000_000);
  let report: GoldenReport;
  const killed: string[] = [];

  beforeAll(async () => {
    process.stderr.write(`sigkill-each: seed ${seed} (LEASH_CHAOS_SEED=${seed} replays it)\n`);
    const random = seeded(seed);
    let chaos: Promise<void> | undefined;
    report = await runGoldenSet({
      timeoutMs: 300_000,
      system: async (tenants) => {
        const system = await ClusterUnderTest.start({
          brokers,
          tenants,
          topicPrefix: `sigkill-${randomUUID().slice(0, 8)}.`,
          partitions: 4,
          // A dead member's partitions move after this: short, so six deaths take seconds.
          env: { KAFKA_SESSION_TIMEOUT_MS: '6000' },
        });
        // Each process dies in turn while the tasks run, at a random point of their progress,
        // and comes back with the same instance id and store while the next one dies.
        chaos = (async () => {
          const restarts: Promise<unknown>[] = [];
          for (const name of CLUSTER_PROCESSES) {
            // A random point of the run: a few more of the tasks' events observed.
            const point = system.observed + 3 + Math.floor(random() * 12);
            await waitFor(() => system.observed >= point, {
              timeoutMs: 60_000,
              description: `${point} task events before killing ${name}`,
            });
            await system.cluster.kill(`${name}-1`, 'SIGKILL');
            killed.push(name);
            restarts.push(system.cluster.startProcess(name, 1));
          }
          await Promise.all(restarts);
        })();
        // The run stops the system once its tasks finished: not before every process is back.
        const stop = system.stop.bind(system);
        system.stop = async () => {
          await chaos?.catch(() => undefined);
          await stop();
        };
        return system;
      },
    });
    await chaos;
  }, 600_000);

  it('killed and restarted every process', () => {
    expect(killed).toEqual([...CLUSTER_PROCESSES]);
  });

  it('passes every golden scenario', () => {
    expect(report.results.length).toBeGreaterThan(0);
    expect(
      report.results.filter((r) => !r.passed).map((r) => [r.scenario.id, r.actual, r.failures]),
    ).toEqual([]);
  });
});
