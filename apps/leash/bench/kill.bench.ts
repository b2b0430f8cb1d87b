/*
 * The kill switch, end to end: from publishing `kill --all` (the CLI's code
 * path, ControlCommander) to the last of the five services' acknowledgements,
 * with 100 tasks in flight.
 *
 * The five services run in this process on the embedded engines (temp
 * files), started by the same launcher as `npm start`. Each round puts 100
 * long-running calls in flight (20 per service, on 100 tasks across 10
 * tenants and 5 agents), tracked by the services' KillSwitches as tool and
 * model calls are; kills --all; checks that every call was aborted and
 * that the acks count 100 aborts; then resumes. Rounds are timed after a
 * warm-up.
 *
 * npm run bench:kill  [-- --rounds 50 --tasks 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlCommander, KILL_SWITCH, type KillSwitch } from '@leash/kill-switch';
import { startLeash } from '../src/start';

const WARM_UP = 5;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name: string, samples: number[]): [number, number] {
  const sorted = [...samples].sort((a, b) => a - b);
  const [p50, p99] = [percentile(sorted, 50), percentile(sorted, 99)];
  console.log(
    `${name}: ${sorted.length} rounds: min ${sorted[0].toFixed(2)} ms, p50 ${p50.toFixed(2)} ms, ` +
      `p90 ${percentile(sorted, 90).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ` +
      `max ${sorted[sorted.length - 1].toFixed(2)} ms`,
  );
  return [p50, p99];
}

/** A call that runs until its signal aborts, as a long tool run or model call does. */
function longCall(killSwitch: KillSwitch, task: number): Promise<unknown> {
  const controller = new AbortController();
  const target = {
    tenantId: `tenant-${task % 10}`,
    agent: `agent-${task % 5}`,
    taskId: `task-${task}`,
  };
  const untrack = killSwitch.track(target, controller);
  return new Promise((resolve) => {
    controller.signal.addEventListener('abort', () => {
      untrack();
      resolve(controller.signal.reason);
    });
  });
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 50);
  const tasks = arg('tasks', 100);
  const dir = mkdtempSync(join(tmpdir(), 'leash-kill-bench-'));
  const leash = await startLeash({
    ...process.env,
    LEASH_BUS_FILE: join(dir, 'bus.db'),
    LEASH_STORE_FILE: join(dir, 'store.db'),
    LEASH_INSTANCE_ID: 'bench',
    LOG_LEVEL: 'error',
  });
  const commander = await ControlCommander.open(leash.engines.bus, { source: 'leash-bench' });
  const switches = leash.services.map((service) => service.app.get<KillSwitch>(KILL_SWITCH));
  const kills: number[] = [];
  const resumes: number[] = [];
  try {
    console.log(
      `${switches.length} services in one process on the embedded engines; ` +
        `${tasks} calls in flight per round; ${WARM_UP} warm-up + ${rounds} timed rounds`,
    );
    for (let round = 0; round < WARM_UP + rounds; round++) {
      const calls = Array.from({ length: tasks }, (_, task) =>
        longCall(switches[task % switches.length], task),
      );
      const killed = await commander.kill(
        { scope: { kind: 'all' }, reason: 'bench', issuedBy: 'bench' },
        { timeoutMs: 10_000 },
      );
      if (killed.missing.length > 0)
        throw new Error(`no kill ack from ${killed.missing.join(', ')}`);
      await Promise.all(calls);
      const aborted = killed.acks.reduce((sum, r) => sum + r.ack.aborted, 0);
      if (aborted !== tasks)
        throw new Error(`round ${round}: acks report ${aborted} aborts, not ${tasks}`);
      const resumed = await commander.resume(
        { scope: { kind: 'all' }, reason: 'bench', issuedBy: 'bench' },
        { timeoutMs: 10_000 },
      );
      if (resumed.missing.length > 0) {
        throw new Error(`no resume ack from ${resumed.missing.join(', ')}`);
      }
      if (switches.some((s) => s.active().length > 0))
        throw new Error('a kill outlived its resume');
      if (round < WARM_UP) continue;
      kills.push(Math.max(...killed.acks.map((r) => r.elapsedMs)));
      resumes.push(Math.max(...resumed.acks.map((r) => r.elapsedMs)));
    }
    summary('resume --all to last ack', resumes);
    const [p50, p99] = summary(`kill --all to last ack (${tasks} in flight)`, kills);
    console.log(`kill: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
  } finally {
    await commander.close();
    await leash.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
