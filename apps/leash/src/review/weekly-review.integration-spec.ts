import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reviewItems, seedRuns, type RunSummary } from '@leash/audit';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import { runCli } from '../cli';
import { recordingTerminal } from '../cli/testing/recording-terminal';
import { FLAGGED, isoWeek, sampleRuns, seededRandom } from './weekly-review';

/*
 * The weekly sample review through the CLI, on an audit store holding 300
 * synthetic runs of the last 30 days (the period every draw here takes): a reproducible random draw plus every
 * flagged failure, reviews checked against the agent's rubric, and the
 * report by week.
 */

const NOW = new Date('2026-12-03T12:00:00.000Z');

async function seeded(dir: string): Promise<{ engines: Engines; runs: RunSummary[] }> {
  const env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
  const engines = await openEngines(loadConfig(BASE_ENV, { env }), {
    source: 'review-test',
    relayOutbox: false,
  });
  return { engines, runs: await seedRuns(engines.store, 300, NOW) };
}

describe('the weekly sample review', () => {
  let dir: string;
  let engines: Engines;
  let runs: RunSummary[];
  const opened: Engines[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-review-'));
    ({ engines, runs } = await seeded(join(dir, 'a')));
    opened.push(engines);
  }, 60_000);

  afterAll(async () => {
    for (const e of opened) await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function leash(...argv: string[]) {
    const run = recordingTerminal();
    const code = await runCli(
      argv,
      {
        LEASH_BUS_FILE: join(dir, 'a', 'bus.db'),
        LEASH_STORE_FILE: join(dir, 'a', 'store.db'),
        USER: 'rita',
      },
      run.t,
    );
    return { code, out: run.out.join('\n'), err: run.err.join('\n') };
  }

  const inPeriod = (r: RunSummary) =>
    r.agent === 'support' &&
    r.status !== 'running' &&
    Date.parse(r.startedAt) >= NOW.getTime() - 30 * 86_400_000;

  it('is reproducible from its seed, and another seed draws other runs', async () => {
    const draw = (seed: string) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw('support/2026-W49')).toEqual(draw('support/2026-W49'));
    expect(draw('support/2026-W49')).not.toEqual(draw('support/2026-W50'));
    expect(isoWeek(NOW)).toBe('2026-W49');
    expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');

    // Two stores holding the same runs draw the same sample from the same seed.
    const other = await seeded(join(dir, 'b'));
    const third = await seeded(join(dir, 'c'));
    opened.push(other.engines, third.engines);
    const ids = async (e: Engines, seed: string) =>
      (await sampleRuns(e.store, { agent: 'support', size: 5, days: 30, seed, now: NOW })).queued
        .filter((i) => i.reason === 'random')
        .map((i) => i.runId);
    const first = await ids(other.engines, 's1');
    expect(first).toHaveLength(5);
    expect(await ids(third.engines, 's1')).toEqual(first);
    expect(await ids(other.engines, 's2')).not.toEqual(expect.arrayContaining(first));
  });

  it('queues a random sample and every flagged failure, each run once', async () => {
    const flagged = runs.filter((r) => inPeriod(r) && FLAGGED.has(r.status)).map((r) => r.taskId);
    const pool = runs.filter((r) => inPeriod(r) && !FLAGGED.has(r.status)).length;
    expect(flagged.length).toBeGreaterThan(0);

    const sample = () =>
      leash('review', 'sample', '--agent', 'support', '--size', '5', '--days', '30');
    const sampled = await sample();
    expect(sampled).toMatchObject({ code: 0, err: '' });
    expect(sampled.out).toContain(
      `queued ${5 + flagged.length} run(s) of support for 2026-W49: 5 drawn at random from ${pool} finished in the last 30 day(s) (seed support/2026-W49), ${flagged.length} flagged failure(s)`,
    );
    const queued = (
      await engines.store.repository(reviewItems).find({ where: { agent: 'support' } })
    ).map((i) => i.doc);
    expect(
      queued
        .filter((i) => i.reason === 'flagged')
        .map((i) => i.runId)
        .sort(),
    ).toEqual([...flagged].sort());
    for (const item of queued)
      expect(inPeriod(runs.find((r) => r.taskId === item.runId)!)).toBe(true);

    // Drawn again: nothing queued twice, and the random ones come from what is left.
    const again = await sample();
    expect(again.out).toMatch(new RegExp(`^queued 5 run\\(s\\) .* from ${pool - 5} finished`));
    const all = await engines.store.repository(reviewItems).find({ where: { agent: 'support' } });
    expect(new Set(all.map((i) => i.doc.runId)).size).toBe(10 + flagged.length);
  });

  it("records reviews against the agent's rubric, and reports them by week with the failures", async () => {
    const listed = await leash('review', 'list', '--agent', 'support');
    expect(listed.out).toContain('answered_the_question (yes/no): Did the reply answer');
    const [first, second] = (
      await engines.store
        .repository(reviewItems)
        .find({ where: { agent: 'support', status: 'queued' } })
    ).map((i) => i.doc.runId);

    const incomplete = await leash(
      'review',
      'score',
      first!,
      '--answer',
      'answered_the_question=yes',
    );
    expect(incomplete.code).toBe(2);
    expect(incomplete.err).toContain('facts_from_records: not answered');
    const wrong = await leash(
      'review',
      'score',
      first!,
      '--answer',
      'answered_the_question=yes',
      '--answer',
      'facts_from_records=yes',
      '--answer',
      'right_escalation=maybe',
      '--answer',
      'tone=9',
    );
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('right_escalation: answer yes or no, not "maybe"');
    expect(wrong.err).toContain('tone: answer 1 to 5, not "9"');

    const all = (tone: string, facts: string) => [
      '--answer',
      'answered_the_question=yes',
      '--answer',
      `facts_from_records=${facts}`,
      '--answer',
      'right_escalation=yes',
      '--answer',
      `tone=${tone}`,
    ];
    expect(await leash('review', 'score', first!, ...all('4', 'yes'))).toMatchObject({
      code: 0,
      out: `reviewed ${first} (support): passed the rubric`,
    });
    expect(
      await leash(
        'review',
        'score',
        second!,
        ...all('2', 'no'),
        '--note',
        'invented a refund date',
      ),
    ).toMatchObject({ code: 0, out: `reviewed ${second} (support): FAILED the rubric` });
    const twice = await leash('review', 'score', first!, ...all('5', 'yes'));
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/was reviewed by rita@\S+ at .*; nothing changed/);

    const report = await leash('review', 'report', '--agent', 'support');
    expect(report.out).toMatch(
      /^2026-W\d\d: 2 of \d+ reviewed, 1 failed; answered_the_question 100% yes, facts_from_records 50% yes, right_escalation 100% yes, tone 3\.0\/5$/m,
    );
    expect(report.out).toContain(`failed the rubric:\n  ${second}  `);
    expect(report.out).toContain('facts_from_records, tone: invented a refund date');
  });
});
