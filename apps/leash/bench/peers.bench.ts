/*
 * Leash side by side with two peers on the same scripted task: five tool
 * calls (one trivial tool, `search_kb`), a scripted model that answers at
 * once, one task in flight, no network.
 *
 * - leash: `it-helpdesk.five-lookups` through bench:e2e's runE2eBench with
 *   concurrency 1: planner, policy, budget, approvals and executor, all gates
 *   on, in one process on the embedded engines (temp files).
 * - langgraph: LangGraph.js's prebuilt ReAct agent (model node, ToolNode)
 *   with the durable SQLite checkpointer (@langchain/langgraph-checkpoint-sqlite,
 *   a temp file, its own WAL setting), one thread per task, a scripted chat
 *   model (bench/peers/langgraph.driver.mjs).
 * - openai-agents: OpenAI Agents JS, one agent, one function tool, the SDK's
 *   Model interface implemented by a scripted model, tracing off
 *   (bench/peers/openai-agents.driver.mjs).
 *
 * What the peers do not do per step that Leash does:
 * - Neither has a policy gate (each proposed call checked against the
 *   tenant's rules before it may run), an approvals gate, a budget (a
 *   reservation for the model turn and one for the action, settled after),
 *   signatures (policy, budget and approvals each sign the action with an
 *   Ed25519 key; the executor verifies all three before the tool runs), or an
 *   audit log (a consumer writing down every event).
 * - Neither sends anything through a durable outbox and bus: a Leash step is
 *   several hops (actions.completed to the planner, the model turn's
 *   reservation asked of the budget, the proposal through policy, the action
 *   funded by the budget and seen by approvals, then the executor), each a
 *   committed transaction and a published event that a crash cannot lose;
 *   the peers call the next function in the same stack.
 * - LangGraph writes a checkpoint per super-step (model node, tools node) to
 *   one SQLite file: durable, but the only write, from the same stack.
 * - OpenAI Agents JS writes nothing anywhere: the run's state is in memory
 *   and is lost with the process.
 *
 * Measured, the same way for all three (as bench:e2e defines it): for the
 * k-th tool call of a task (k = 2..5)
 *   overhead_k = (tool_k started - tool_{k-1} returned) - model time of turn k
 * with the tool's and the model's times taken inside the tool and inside the
 * model (performance.now()); and CPU per step: the process's CPU time (user
 * and system, process.cpuUsage) from the first task to the last, divided by
 * the tool calls made. Start-up is outside both, and no system is warmed up.
 *
 * Each system runs in a child process of its own per round; the rounds are
 * interleaved (leash, langgraph, openai-agents, then the next round starts
 * one later) and the samples pooled across rounds. The peers' packages are in
 * bench/peers with their own package-lock.json, installed on the first run
 * (`npm ci --prefix bench/peers`); they are not the project's dependencies.
 *
 *   npm run bench:peers [-- --rounds 2 --tasks 20]
 *
 * The last line is
 * `peers: leash <a> ms, langgraph <b> ms, openai-agents <c> ms per step p50; leash/langgraph <r>x`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runE2eBench } from './e2e.bench';

const SYSTEMS = ['leash', 'langgraph', 'openai-agents'] as const;
type System = (typeof SYSTEMS)[number];

const ROOT = resolve(__dirname, '../../..');
const PEERS = join(ROOT, 'bench/peers');
const DRIVERS: Record<Exclude<System, 'leash'>, string> = {
  langgraph: join(PEERS, 'langgraph.driver.mjs'),
  'openai-agents': join(PEERS, 'openai-agents.driver.mjs'),
};

/** What one child prints, as its last line: the same shape from every system. */
interface RoundResult {
  readonly system: System;
  readonly tasks: number;
  readonly toolCalls: number;
  readonly seconds: number;
  readonly cpuMs: number;
  readonly overheadsMs: readonly number[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/** The child's side for Leash: bench:e2e's measurement with one task in flight. */
async function leashRound(tasks: number): Promise<void> {
  const result = await runE2eBench({ tasks, concurrency: 1, log: () => undefined });
  const round: RoundResult = {
    system: 'leash',
    tasks: result.tasks,
    toolCalls: result.toolCalls,
    seconds: result.seconds,
    cpuMs: result.cpuMsPerTask * result.tasks,
    overheadsMs: result.overheadsMs,
  };
  process.stdout.write(`${JSON.stringify(round)}\n`);
}

function installPeers(): void {
  if (existsSync(join(PEERS, 'node_modules'))) return;
  process.stdout.write('installing the peers (npm ci --prefix bench/peers), once\n');
  execFileSync('npm', ['ci', '--prefix', PEERS, '--no-audit', '--no-fund'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function runChild(system: System, tasks: number): Promise<RoundResult> {
  const args =
    system === 'leash'
      ? ['-r', '@swc-node/register', __filename, '--leash-round', '--tasks', String(tasks)]
      : [DRIVERS[system], '--tasks', String(tasks)];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', fail);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return fail(new Error(`${system} exited with ${code}: ${last}`));
      try {
        const round = JSON.parse(last) as RoundResult;
        if (round.system !== system) throw new Error(`expected ${system}, got ${round.system}`);
        done(round);
      } catch (error) {
        fail(new Error(`${system} printed no result: ${String(error)}: ${last}`));
      }
    });
  });
}

async function main(): Promise<void> {
  const tasks = Number(arg('tasks') ?? 20);
  if (process.argv.includes('--leash-round')) return leashRound(tasks);
  const rounds = Number(arg('rounds') ?? 2);
  installPeers();
  process.stdout.write(
    `peers bench: ${rounds} interleaved rounds of ${tasks} tasks of 5 tool calls per system, one task in flight\n`,
  );
  const pooled = new Map<System, RoundResult[]>(SYSTEMS.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate who goes first, so no system always runs on the freshest machine.
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + r) % SYSTEMS.length]);
    for (const system of order) {
      const round = await runChild(system, tasks);
      pooled.get(system)?.push(round);
      const sorted = [...round.overheadsMs].sort((a, b) => a - b);
      process.stdout.write(
        `  round ${r + 1} ${system}: ${round.tasks} tasks in ${round.seconds.toFixed(2)} s, ` +
          `step p50 ${percentile(sorted, 50).toFixed(3)} ms, ` +
          `CPU ${(round.cpuMs / round.toolCalls).toFixed(3)} ms per step\n`,
      );
    }
  }

  const summary = new Map<System, { p50: number; p99: number; cpu: number }>();
  for (const system of SYSTEMS) {
    const runs = pooled.get(system) ?? [];
    const sorted = runs.flatMap((x) => x.overheadsMs).sort((a, b) => a - b);
    const cpuMs = runs.reduce((sum, x) => sum + x.cpuMs, 0);
    const toolCalls = runs.reduce((sum, x) => sum + x.toolCalls, 0);
    const row = {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      cpu: cpuMs / toolCalls,
    };
    summary.set(system, row);
    process.stdout.write(
      `${system.padEnd(14)} ${String(sorted.length).padStart(5)} steps: overhead p50 ${row.p50.toFixed(3)} ms, ` +
        `p99 ${row.p99.toFixed(3)} ms; CPU ${row.cpu.toFixed(3)} ms per step\n`,
    );
  }
  const leash = summary.get('leash');
  const langgraph = summary.get('langgraph');
  const agents = summary.get('openai-agents');
  if (!leash || !langgraph || !agents) throw new Error('a system has no result');
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  process.stdout.write(
    `ratios leash/langgraph: p50 ${ratio(leash.p50, langgraph.p50)}, p99 ${ratio(leash.p99, langgraph.p99)}, ` +
      `CPU ${ratio(leash.cpu, langgraph.cpu)}\n` +
      `ratios leash/openai-agents: p50 ${ratio(leash.p50, agents.p50)}, p99 ${ratio(leash.p99, agents.p99)}, ` +
      `CPU ${ratio(leash.cpu, agents.cpu)}\n` +
      `target: leash/langgraph p50 <= 1.0x: ${leash.p50 <= langgraph.p50 ? 'met' : 'MISSED'}\n` +
      `peers: leash ${leash.p50.toFixed(2)} ms, langgraph ${langgraph.p50.toFixed(2)} ms, ` +
      `openai-agents ${agents.p50.toFixed(2)} ms per step p50; ` +
      `leash/langgraph ${(leash.p50 / langgraph.p50).toFixed(2)}x\n`,
  );
}

if (require.main === module) {
  main()
    .then(() => {
      // The embedded engines' timers do not all unref; the run is over.
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `bench:peers: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      process.exit(1);
    });
}
