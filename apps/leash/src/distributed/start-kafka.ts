import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { BASE_ENV, loadConfig, type Environment } from '@leash/config';
import { openEngines, openStore } from '@leash/engines';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { demoReviewersWithKeys } from '../demo/demo-reviewer-keys';
import { runDemo, type Demo, type DemoSystem } from '../demo/demo';
import { NEXT_STEPS } from '../demo/next-steps';
import { LocalCluster } from './local-cluster';

/*
 * `npm run start:kafka`: Leash in its deployed shape on one machine. A local
 * Apache Kafka broker (deploy/local/kafka.sh, unless KAFKA_BROKERS names
 * one), the five services and the audit recorder each as its own OS process
 * with its own store, then the demo. Ctrl-C stops the processes, then the
 * broker if it was started here.
 */

const ROOT = resolve(__dirname, '../../../..');

/** Runs deploy/local/kafka.sh with `command`; resolves with what it printed on stdout. */
function kafkaScript(command: 'start' | 'stop' | 'status'): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(join(ROOT, 'deploy/local/kafka.sh'), [command], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done(out) : fail(new Error(`deploy/local/kafka.sh ${command} exited ${code}`)),
    );
  });
}

/** The brokers to use, and whether this launcher started them (and so stops them). */
async function brokersOf(env: Environment): Promise<{ brokers: string[]; started: boolean }> {
  const given = (env.KAFKA_BROKERS ?? '').split(',').filter((b) => b.trim() !== '');
  if (given.length > 0) return { brokers: given, started: false };
  // A broker the script already runs (an earlier start, or the CI's) is used and left running.
  const already = await kafkaScript('status').then(
    () => true,
    () => false,
  );
  const printed = await kafkaScript(already ? 'status' : 'start');
  const line = printed.split('\n').find((l) => l.startsWith('KAFKA_BROKERS='));
  if (!line) throw new Error('deploy/local/kafka.sh start printed no KAFKA_BROKERS= line');
  return { brokers: line.slice('KAFKA_BROKERS='.length).split(','), started: !already };
}

/** One line per variable, ready to paste into another terminal. */
export function exportLines(env: Environment): string[] {
  return Object.entries(env).map(([name, value]) => `  export ${name}=${value}`);
}

async function main(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const dataDir = resolve(process.env.LEASH_KAFKA_RUN_DIR ?? join(ROOT, '.leash/kafka-run'));
  const demo = (process.env.LEASH_DEMO ?? 'true') !== 'false';
  let stopping = false;
  const { brokers, started } = await brokersOf(process.env);
  say(
    `Kafka at ${brokers.join(',')}` +
      (started
        ? ' (started by deploy/local/kafka.sh; Ctrl-C stops it too)'
        : ' (left running on Ctrl-C)'),
  );

  // The demo reviewers, with keys kept beside the run's stores, so the printed approve commands work.
  const reviewerKeysDir = join(dataDir, 'reviewer-keys');
  const { reviewers } = demoReviewersWithKeys({ LEASH_REVIEWER_KEYS_DIR: reviewerKeysDir });
  const cluster = new LocalCluster({
    brokers,
    dataDir,
    ...(process.env.LEASH_TOPIC_PREFIX ? { topicPrefix: process.env.LEASH_TOPIC_PREFIX } : {}),
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    envOf: { approvals: { LEASH_REVIEWERS: JSON.stringify(reviewers) } },
  });
  const stopBroker = async () => {
    if (started) await kafkaScript('stop').catch(() => undefined);
  };
  say(
    'starting policy, budget, approvals, executor, planner and audit, each in its own process...',
  );
  try {
    await cluster.start();
  } catch (error) {
    await stopBroker();
    throw error;
  }
  for (const running of cluster.running()) {
    say(
      `  ${running.id.padEnd(12)} pid ${running.child.pid}, health http://127.0.0.1:${running.port}/health/ready`,
    );
    void running.exited.then((code) => {
      if (!stopping)
        say(
          `${running.id} exited (${code}); its log: ${join(dataDir, 'logs', `${running.id}.log`)}`,
        );
    });
  }
  const clientEnv = { ...cluster.clientEnv(), LEASH_REVIEWER_KEYS_DIR: reviewerKeysDir };
  say(`Leash is up on Kafka. Logs: ${join(dataDir, 'logs')}. For the CLI, in another terminal:`);
  for (const line of exportLines(clientEnv)) say(line);
  if (!demo) for (const line of NEXT_STEPS) say(line);

  let running: Demo | undefined;
  const stores: Store[] = [];
  const config = loadConfig(BASE_ENV, { env: clientEnv });
  const client = await openEngines(config, {
    source: 'leash-demo',
    owner: 'executor',
    relayOutbox: false,
  });
  if (demo) {
    const planner = await openStore(config, 'planner');
    const approvals = await openStore(config, 'approvals');
    stores.push(planner, approvals);
    const system: DemoSystem = {
      bus: client.bus,
      store: (owner) =>
        owner === 'planner' ? planner : owner === 'approvals' ? approvals : client.store,
    };
    running = await runDemo(system, {
      out: say,
      color: process.stdout.isTTY === true && !process.env.NO_COLOR,
      reviewerKeysDir,
    });
    void running.settled.then(() =>
      say('(Leash runs on Kafka here: the CLI needs the variables printed above exported first.)'),
    );
  }
  stopOnSignal(
    async () => {
      stopping = true;
      try {
        await running?.close();
        for (const store of stores) await store.close();
        await client.close();
        await cluster.stop();
      } finally {
        await stopBroker();
      }
    },
    { logger: { log: say, warn: say, error: (line: string) => process.stderr.write(`${line}\n`) } },
  );
}

if (require.main === module) main().catch(exitOnStartupError);
