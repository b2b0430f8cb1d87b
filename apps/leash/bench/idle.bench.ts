/*
 * What an idle Leash costs: the five services and the audit recorder in one
 * process on the embedded engines (temp files), started by the same launcher
 * as `npm start`, with nothing to do. After a warm-up, the process's CPU time
 * (user + system, every thread) is read over a window and given per second of
 * wall time. An idle control plane should cost next to nothing: whatever it
 * spends is timers and polling, not work.
 *
 * npm run bench:idle  [-- --seconds 10 --windows 3 --warmup 3]
 *
 * --warmup: seconds before the first window. Some 15 to 20 s after start-up
 * V8 shrinks the heap (a few full collections, about 0.1 s of CPU once); a
 * warm-up past that (25) measures the steady state alone.
 *
 * Last line: `idle: <x> ms CPU per second (median of <n> windows of <s> s)`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLeash } from '../src/start';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const windows = arg('windows', 3);
  const warmup = arg('warmup', 3);
  const dir = mkdtempSync(join(tmpdir(), 'leash-idle-bench-'));
  const leash = await startLeash({
    ...process.env,
    LEASH_BUS_FILE: join(dir, 'bus.db'),
    LEASH_STORE_FILE: join(dir, 'store.db'),
    LEASH_INSTANCE_ID: 'bench',
    LOG_LEVEL: 'error',
  });
  try {
    await sleep(warmup * 1_000); // start-up work (seeding, first rebalances) settles
    const perSecond: number[] = [];
    for (let i = 0; i < windows; i += 1) {
      const before = process.cpuUsage();
      const startedAt = performance.now();
      await sleep(seconds * 1_000);
      const used = process.cpuUsage(before);
      const wallSeconds = (performance.now() - startedAt) / 1_000;
      const ms = (used.user + used.system) / 1_000 / wallSeconds;
      perSecond.push(ms);
      console.log(
        `window ${i + 1}: ${ms.toFixed(1)} ms CPU per second ` +
          `(user ${(used.user / 1_000 / wallSeconds).toFixed(1)}, system ${(used.system / 1_000 / wallSeconds).toFixed(1)})`,
      );
    }
    const median = [...perSecond].sort((a, b) => a - b)[Math.floor(perSecond.length / 2)]!;
    console.log(
      `idle: ${median.toFixed(1)} ms CPU per second (median of ${windows} windows of ${seconds} s)`,
    );
  } finally {
    await leash.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
