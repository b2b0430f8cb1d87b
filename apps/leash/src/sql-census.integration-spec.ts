import { runE2eBench } from '../bench/e2e.bench';

/*
 * The SQL a step costs on the embedded engines, counted (not timed): the
 * census `npm run bench:e2e` prints. A step is seven durable hops; each
 * statement and commit on the way is CPU the control plane spends. These
 * ceilings are what landed main measured (issue 21) on a quiet machine, plus
 * about 14%: timers (heartbeats, polls, relay passes) and redeliveries grow
 * with wall time, and a loaded machine stretches it (318 statements per step
 * at a load average of 11-17, while the full suites ran beside helpers'
 * Kafka clusters). A change that adds a few statements to every hop, or a
 * hop to a step, still fails here instead of creeping in. Lower them when a
 * change takes statements away.
 */
const CEILING = {
  /**
   * Measured 293-295 with 8 tasks, one in flight, quiet (346-348 before a
   * replace reused its unit's read and the store stopped setting busy_timeout
   * twice a transaction).
   */
  statementsPerStep: 335,
  /** Measured 26.5-27.1: with one task in flight, nothing shares a commit. */
  commitsPerStep: 31,
};

describe('the SQL census of a step (one task in flight, every gate on)', () => {
  it(`stays under ${CEILING.statementsPerStep} statements and ${CEILING.commitsPerStep} commits per step`, async () => {
    const result = await runE2eBench({ tasks: 8, concurrency: 1, log: () => undefined });
    expect(result.toolCalls).toBe(8 * 5);
    // Counted at all: the census saw both files.
    expect(Object.keys(result.census.byFile).map((file) => file.replace(/^.*\//, ''))).toEqual(
      expect.arrayContaining(['bus.db', 'store.db']),
    );
    expect(result.statementsPerStep).toBeLessThanOrEqual(CEILING.statementsPerStep);
    expect(result.commitsPerStep).toBeLessThanOrEqual(CEILING.commitsPerStep);
  });
});
