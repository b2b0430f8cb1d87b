/*
 * Rollback, from the command to effect: how long after an operator runs
 * `leash release rollback` the first new task starts on the release rolled
 * back to, while tasks keep arriving.
 *
 * The whole system runs in this process on the embedded engines (temp
 * files), started by the same launcher as `npm start`; the CLI runs in the
 * same process (its code path, on the same files). A second release of the
 * support agent is made once. Each round promotes it (--full), keeps a
 * stream of support tasks arriving (one every 5 ms), runs the rollback, and
 * measures (a) the command's own time (until it saw the planner apply it)
 * and (b) the time from the command's start to the start of the first task
 * on the release rolled back to, read from the planner's own record of
 * each task (startedAt).
 *
 * npm run bench:rollback  [-- --rounds 20]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_SCENARIOS, PLANNER_TASKS } from '@leash/service-planner';
import { runCli } from '../src/cli';
import { LeashUnderTest } from '../src/eval/leash-under-test';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `${name}: ${sorted.length} rounds: min ${sorted[0]!.toFixed(1)} ms, p50 ${percentile(sorted, 50).toFixed(1)} ms, ` +
      `p90 ${percentile(sorted, 90).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`,
  );
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 20);
  const scenario = REFERENCE_SCENARIOS.find((s) => s.id === 'support.order-status-draft')!;
  const harness = await LeashUnderTest.start({ tenants: [], reviewers: false });
  const quiet = { out: () => undefined, err: (line: string) => console.error(line) };
  const env = {
    PATH: process.env.PATH ?? '',
    USER: 'bench',
    LEASH_BUS_FILE: join(harness.dir, 'bus.db'),
    LEASH_STORE_FILE: join(harness.dir, 'store.db'),
  };
  const cli = (...argv: string[]) => runCli(argv, env, quiet);
  try {
    const file = join(harness.dir, 'support-2.yaml');
    writeFileSync(file, 'description: bench release\nprompt:\n  text: Be brief.\n');
    if ((await cli('release', 'create', '--agent', 'support', '--file', file)) !== 0) {
      throw new Error('release create failed');
    }
    const commandMs: number[] = [];
    const effectMs: number[] = [];
    let counter = 0;
    for (let round = 0; round < rounds; round += 1) {
      if (
        (await cli('release', 'promote', 'support@2', '--full', '--force', '--reason', 'bench')) !==
        0
      ) {
        throw new Error('promote failed');
      }
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          counter += 1;
          await harness.submit(scenario, { tenantId: `bench-${round}`, taskId: `rb-${counter}` });
          await new Promise((done) => setTimeout(done, 5));
        }
      })();
      await new Promise((done) => setTimeout(done, 100));
      const startedWall = Date.now();
      const started = performance.now();
      if ((await cli('release', 'rollback', '--agent', 'support')) !== 0)
        throw new Error('rollback failed');
      commandMs.push(performance.now() - started);
      let first: number | undefined;
      while (first === undefined) {
        const tasks = await harness.store
          .repository(PLANNER_TASKS)
          .find({ where: { tenantId: `bench-${round}` } });
        const onOld = tasks
          .map((t) => t.doc)
          .filter((t) => t.agent.version === 1 && Date.parse(t.startedAt) >= startedWall);
        if (onOld.length > 0) first = Math.min(...onOld.map((t) => Date.parse(t.startedAt)));
        else await new Promise((done) => setTimeout(done, 5));
      }
      streaming = false;
      await stream;
      effectMs.push(first - startedWall);
    }
    console.log(`rollback of support@2 to @1, ${rounds} rounds, tasks arriving every 5 ms:`);
    summary('  command (until the planner applied it)', commandMs);
    summary('  to the first task started on @1', effectMs);
  } finally {
    await harness.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
