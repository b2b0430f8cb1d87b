import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_VARIABLES, ReleaseCatalog, agentSetFromConfig } from '@leash/agents';
import { BASE_ENV, extendEnv, loadConfig } from '@leash/config';
import { openStore, storeFileOf } from '@leash/engines';
import { formatComparison } from './compare-releases';
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
 * With --release A@N, the agent's golden tasks run under that release, read
 * from the catalog of the Leash the variables name (as the CLI reads it), and
 * with --against (current, or A@M) under another one too, side by side: per
 * task and in total, and which tasks changed outcome.
 *
 *   npm run eval [-- [--k N] <scenario id substring> ...]
 *   npm run eval -- --release A@N [--against current | A@M]
 */
async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { k: { type: 'string' }, release: { type: 'string' }, against: { type: 'string' } },
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
  if (parsed.values.release !== undefined) {
    return compareReleases(parsed.values.release, parsed.values.against);
  }
  if (parsed.values.against !== undefined) {
    process.stderr.write('eval: --against needs --release A@N\n');
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

/** `--release A@N [--against current | A@M]`: exit 0 when the release passes every task. */
async function compareReleases(release: string, against: string | undefined): Promise<number> {
  const ref = /^([a-z][a-z0-9-]*)@(\d+)$/.exec(release);
  if (!ref) {
    process.stderr.write(`eval: --release takes AGENT@N, e.g. support@2; got ${release}\n`);
    return 2;
  }
  const agent = ref[1]!;
  const otherRef =
    against === undefined || against === 'current'
      ? undefined
      : /^([a-z][a-z0-9-]*)@(\d+)$/.exec(against);
  if (against !== undefined && against !== 'current' && (!otherRef || otherRef[1] !== agent)) {
    process.stderr.write(`eval: --against takes current or ${agent}@N; got ${against}\n`);
    return 2;
  }
  const config = loadConfig(extendEnv(BASE_ENV, AGENT_VARIABLES), {
    env: process.env,
    subject: 'eval',
  });
  const file = storeFileOf(config, 'planner');
  if (config.LEASH_STORE === 'sqlite' && !existsSync(resolve(file))) {
    process.stderr.write(
      `eval: ${resolve(file)} does not exist: --release reads the catalog of a running Leash (npm start, or LEASH_STORE_FILE / LEASH_STORE_DIR)\n`,
    );
    return 1;
  }
  const store = await openStore(config, 'planner');
  try {
    const catalog = new ReleaseCatalog(store, { shippedPrompt: agentSetFromConfig(config).prompt });
    const view = await catalog.release(agent, Number(ref[2]));
    if (!view) {
      process.stderr.write(`eval: ${agent} has no release ${ref[2]} in the catalog\n`);
      return 2;
    }
    const current = (await catalog.routing(agent))?.current;
    const otherNumber =
      against === undefined ? undefined : otherRef ? Number(otherRef[2]) : current;
    const other = otherNumber === undefined ? undefined : await catalog.release(agent, otherNumber);
    if (against !== undefined && !other) {
      process.stderr.write(`eval: ${agent} has no release ${otherNumber ?? against}\n`);
      return 2;
    }
    const { goldenReportOf } = await import('./release-score');
    const mine = await goldenReportOf(view);
    if (!mine) {
      process.stderr.write(`eval: ${agent} has no golden tasks\n`);
      return 2;
    }
    if (!other) {
      process.stdout.write(`${formatGoldenReport(mine).join('\n')}\n`);
    } else {
      const theirs = (await goldenReportOf(other))!;
      const label = (n: number) => `@${n}${n === current ? ' (current)' : ''}`;
      process.stdout.write(
        `eval: ${agent}'s ${mine.results.length} golden tasks under ${label(view.release)} and ${label(other.release)}\n\n`,
      );
      const lines = formatComparison(
        { label: `@${view.release}`, report: mine },
        { label: `@${other.release}`, report: theirs },
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return mine.passed === mine.results.length ? 0 : 1;
  } finally {
    await store.close();
  }
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
