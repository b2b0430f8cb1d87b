import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchRuns, seedRuns } from '@leash/audit';
import { openSqliteStore } from '@leash/store-sqlite';

/*
 * `leash runs search --status failed --since 7d --sort cost --limit 5` on a
 * SQLite store of 100,000 run summaries. Target: under a second. Prints the
 * median of repeated runs (after one cold run) on its last line:
 *   audit: search <ms> ms over 100000 runs
 */

const COUNT = 100_000;
const RUNS = 20;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'leash-audit-bench-'));
  const store = await openSqliteStore({ filename: join(dir, 'store.db') });
  try {
    const now = new Date();
    const seeding = performance.now();
    await seedRuns(store, COUNT, now);
    process.stdout.write(
      `seeded ${COUNT} runs in ${((performance.now() - seeding) / 1000).toFixed(1)} s\n`,
    );
    const since = new Date(now.getTime() - 7 * 86_400_000).toISOString();
    const search = () => searchRuns(store, { status: 'failed', since, sort: 'cost', limit: 5 });

    let started = performance.now();
    const cold = await search();
    process.stdout.write(
      `cold search ${(performance.now() - started).toFixed(1)} ms, ${cold.length} runs\n`,
    );
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      started = performance.now();
      await search();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    process.stdout.write(`audit: search ${median.toFixed(1)} ms over ${COUNT} runs\n`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
