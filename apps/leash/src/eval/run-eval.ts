import { formatGoldenReport, GOLDEN_SCENARIOS, runGoldenSet } from './golden-set';

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
 *   npm run eval [-- <scenario id substring> ...]
 */
async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const scenarios =
    filters.length === 0
      ? GOLDEN_SCENARIOS
      : GOLDEN_SCENARIOS.filter((s) => filters.some((f) => s.id.includes(f)));
  if (scenarios.length === 0) {
    process.stderr.write(`eval: no golden scenario matches ${filters.join(', ')}\n`);
    return 2;
  }
  process.stdout.write(`eval: ${scenarios.length} golden tasks through the whole system\n\n`);
  const report = await runGoldenSet({ scenarios });
  process.stdout.write(`${formatGoldenReport(report).join('\n')}\n`);
  return report.passed === report.results.length ? 0 : 1;
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
