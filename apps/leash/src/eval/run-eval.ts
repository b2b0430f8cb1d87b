import { parseArgs } from 'node:util';
import {
  formatGoldenReport,
  GOLDEN_SCENARIOS,
  runGoldenSet,
  type GoldenReport,
} from './golden-set';
import { formatPassK, passK } from './pass-k';

/*
 * `npm run eval`: the golden set (the reference scenarios tagged `golden`)
 * through the whole system on fresh temp engines, with the scripted model
 * (or a real one when OPENAI_API_KEY / OPENAI_BASE_URL is set: then it
 * scores that model against the same expectations). Prints one row per
 * task, then the share of benign tasks that asked a human beside the attack
 * success rate on the injection tasks (and whether the policy gate's taint
 * agreed with the planner's on every proposal), then the success rate, cost
 * per task and p95 latency. Exits 1 when a task fails.
 *
 * With --k N, the whole set runs N times (each on fresh engines) and the
 * report adds pass^1 and pass^N: a task counts only when it passes all N.
 * With the scripted model the runs agree; a real model is where it tells.
 *
 *   npm run eval [-- [--k N] <scenario id substring> ...]
 */
async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { k: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`eval: ${(error as Error).message}\n`);
    return 2;
  }
  const k = parsed.values.k === undefined ? 1 : Number(parsed.values.k);
  if (!Number.isInteger(k) || k < 1 || k > 100) {
    process.stderr.write(`eval: --k takes a whole number from 1 to 100, got ${parsed.values.k}\n`);
    return 2;
  }
  const filters = parsed.positionals;
  const scenarios =
    filters.length === 0
      ? GOLDEN_SCENARIOS
      : GOLDEN_SCENARIOS.filter((s) => filters.some((f) => s.id.includes(f)));
  if (scenarios.length === 0) {
    process.stderr.write(`eval: no golden scenario matches ${filters.join(', ')}\n`);
    return 2;
  }
  process.stdout.write(
    `eval: ${scenarios.length} golden tasks through the whole system${k > 1 ? `, ${k} runs` : ''}\n\n`,
  );
  const runs: GoldenReport[] = [];
  for (let i = 1; i <= k; i += 1) {
    const report = await runGoldenSet({ scenarios });
    runs.push(report);
    if (k > 1) process.stdout.write(`run ${i} of ${k}:\n`);
    process.stdout.write(`${formatGoldenReport(report).join('\n')}\n`);
  }
  if (k > 1) process.stdout.write(`\n${formatPassK(passK(runs)).join('\n')}\n`);
  return runs.every((report) => report.passed === report.results.length) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`eval: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
