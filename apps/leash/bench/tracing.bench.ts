/*
 * npm run bench:tracing: the cost of tracing on the whole system. Runs
 * apps/leash/bench/e2e.bench.ts with tracing off and then on (each in its own process:
 * the OpenTelemetry SDK starts once per process), in alternation for a few
 * rounds, and compares the best throughput of each. It also prints the least
 * CPU per task of each: the cost of tracing apart from any waiting.
 *
 * Single runs of one setting differ by up to 15% on a shared VM, more than
 * tracing costs; the best of three rounds is steadier than the best of two.
 *
 * Last line: `tracing: <r> of untraced throughput` (target: at least 0.9).
 * Options: --tasks N (default 200), --concurrency C (default 8), --rounds R (default 3).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}

const tasks = arg('tasks', '200');
const concurrency = arg('concurrency', '8');
const rounds = Number(arg('rounds', '3'));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);
const script = join(__dirname, 'e2e.bench.ts');

interface Run {
  readonly tasksPerSecond: number;
  readonly cpuMsPerTask: number;
}

function run(tracing: boolean): Run {
  const args = ['-r', '@swc-node/register', script, '--tasks', tasks, '--concurrency', concurrency];
  if (tracing) args.push('--tracing');
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: join(__dirname, '..') });
  const line = child.stdout.split('\n').find((l) => l.startsWith('e2e: '));
  if (child.status !== 0 || !line) {
    throw new Error(`e2e bench (tracing ${tracing ? 'on' : 'off'}) failed:\n${child.stderr}`);
  }
  const cpu = /([\d.]+) ms CPU per task/.exec(child.stdout);
  if (!cpu) throw new Error('e2e bench printed no CPU per task');
  console.log(`tracing ${tracing ? 'on ' : 'off'}: ${line}; ${cpu[1]} ms CPU per task`);
  return {
    tasksPerSecond: Number(/^e2e: ([\d.]+) tasks\/s/.exec(line)![1]),
    cpuMsPerTask: Number(cpu[1]),
  };
}

const off: Run[] = [];
const on: Run[] = [];
for (let round = 0; round < rounds; round++) {
  off.push(run(false));
  on.push(run(true));
}
const best = (runs: Run[]) => Math.max(...runs.map((r) => r.tasksPerSecond));
const leastCpu = (runs: Run[]) => Math.min(...runs.map((r) => r.cpuMsPerTask));
const ratio = best(on) / best(off);
console.log(`${tasks} tasks, ${concurrency} in flight; best of ${rounds} each`);
console.log(
  `CPU per task: ${leastCpu(off).toFixed(1)} ms untraced, ${leastCpu(on).toFixed(1)} ms traced ` +
    `(+${((leastCpu(on) / leastCpu(off) - 1) * 100).toFixed(0)}%)`,
);
console.log(`tracing: ${ratio.toFixed(2)} of untraced throughput`);
