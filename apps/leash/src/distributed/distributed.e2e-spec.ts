import { randomUUID } from 'node:crypto';
import { describeOnKafka } from '@leash/testing';
import { runGoldenSet, type GoldenReport } from '../eval/golden-set';
import { ClusterUnderTest } from './cluster-under-test';

/**
 * What must not depend on the system's shape: each scenario's outcome and
 * path (the tools it proposed, in order). Not the arguments: the scenarios
 * run at once and share the simulated inventory, so a restock's quantity
 * depends on whether another tenant's order landed before its read.
 */
function outcomes(report: GoldenReport) {
  return report.results.map((result) => ({
    scenario: result.scenario.id,
    status: result.actual,
    passed: result.passed,
    failures: result.failures,
    toolsRun: result.toolsRun,
    askedHuman: result.askedHuman,
    path: result.trajectory.map((step) => step.split(' ')[0]),
  }));
}

/*
 * The product's shape: the five services and the audit recorder as separate
 * OS processes over a real Kafka broker, each on its own store with only its
 * own signing key. The golden set (the reference scenarios, attacks
 * included) must end exactly as it does on the embedded default.
 */
describeOnKafka('the services as separate processes on Kafka', (brokers) => {
  let embedded: GoldenReport;
  let distributed: GoldenReport;

  beforeAll(async () => {
    embedded = await runGoldenSet();
    distributed = await runGoldenSet({
      timeoutMs: 180_000,
      system: (tenants) =>
        ClusterUnderTest.start({
          brokers,
          tenants,
          topicPrefix: `e2e-${randomUUID().slice(0, 8)}.`,
          partitions: 4,
        }),
    });
  }, 600_000);

  it('passes every golden scenario', () => {
    expect(
      distributed.results.filter((r) => !r.passed).map((r) => [r.scenario.id, r.failures]),
    ).toEqual([]);
    expect(embedded.results.length).toBeGreaterThan(0);
    expect(distributed.results.length).toBe(embedded.results.length);
  });

  it('ends every scenario as the embedded default does, by the same path', () => {
    expect(outcomes(distributed)).toEqual(outcomes(embedded));
  });
});
