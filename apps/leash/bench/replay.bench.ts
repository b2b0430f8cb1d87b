/*
 * Counterfactual replay, how long it takes: the golden set runs once on the
 * embedded engines in this process (the recording, in its audit), then
 * `leash replay`'s engine replays (a) each golden run alone, a fresh scratch
 * system each time, as `leash replay TASK_ID` does, and (b) all of them at
 * once on one scratch system, as `leash replay --runs` does. Every replay
 * must come back `same`; the bench fails otherwise.
 *
 * npm run bench:replay  [-- --single 20]
 */
import { GOLDEN_SCENARIOS, goldenTenant } from '../src/eval/golden-set';
import { LeashUnderTest } from '../src/eval/leash-under-test';
import { recordedWhole } from '../src/replay/recorded-run';
import { replayRuns, type ReplayReport } from '../src/replay/replay-runs';
import { waitFor } from '@leash/testing';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function allSame(report: ReplayReport): void {
  const changed = report.runs.filter((run) => run.verdict.kind !== 'same');
  if (changed.length > 0) {
    throw new Error(
      `replay changed ${changed.map((r) => `${r.taskId}: ${r.verdict.line}`).join('; ')}`,
    );
  }
}

async function main(): Promise<void> {
  const singles = arg('single', 20);
  const system = await LeashUnderTest.start({ tenants: GOLDEN_SCENARIOS.map(goldenTenant) });
  try {
    const ids: string[] = [];
    for (const scenario of GOLDEN_SCENARIOS) {
      ids.push(
        await system.submit(scenario, {
          tenantId: goldenTenant(scenario),
          taskId: `golden-${scenario.id}`,
        }),
      );
    }
    await system.finished(ids, 120_000);
    await waitFor(async () => (await recordedWhole(system.store, ids)) || undefined, {
      timeoutMs: 60_000,
      description: 'the audit to hold every golden run whole',
    });
    console.log(`recorded: ${ids.length} golden runs`);

    const alone: number[] = [];
    for (let i = 0; i < singles; i += 1) {
      const id = ids[(i * 7) % ids.length]!;
      const started = performance.now();
      allSame(await replayRuns(system.store, [id]));
      alone.push(performance.now() - started);
    }
    const sorted = alone.sort((a, b) => a - b);
    console.log(
      `one run, a scratch system each: ${sorted.length} replays: p50 ${percentile(sorted, 50).toFixed(0)} ms, ` +
        `p90 ${percentile(sorted, 90).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`,
    );
    const started = performance.now();
    const all = await replayRuns(system.store, ids);
    allSame(all);
    const ms = performance.now() - started;
    console.log(
      `all runs on one scratch system: ${ids.length} runs in ${ms.toFixed(0)} ms, ${(ms / ids.length).toFixed(1)} ms per run`,
    );
  } finally {
    await system.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
