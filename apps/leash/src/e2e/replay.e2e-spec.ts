import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGoldenSet, type GoldenReport } from '../eval/golden-set';

/*
 * Record and replay: the golden set run with LEASH_RECORD_FILE, then again
 * with LEASH_MODEL=replay from that file, takes the same trajectories (the
 * same proposed actions, in order, and the same final status) without the
 * recorded model.
 */

function trajectories(report: GoldenReport): Record<string, unknown> {
  return Object.fromEntries(
    report.results.map((r) => [r.scenario.id, { status: r.actual, actions: r.trajectory }]),
  );
}

describe('a recorded golden set, replayed', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-replay-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the same trajectories as the recorded run', async () => {
    const file = join(dir, 'golden.recording.json');
    const recorded = await runGoldenSet({
      env: { LEASH_MODEL: 'scripted', LEASH_RECORD_FILE: file },
    });
    expect(recorded.passed).toBe(recorded.results.length);

    const replayed = await runGoldenSet({
      env: { LEASH_MODEL: 'replay', LEASH_REPLAY_FILE: file, LEASH_RECORD_FILE: undefined },
    });
    expect(trajectories(replayed)).toEqual(trajectories(recorded));
    expect(replayed.passed).toBe(replayed.results.length);
  });
});
