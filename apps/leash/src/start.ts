import { telemetry } from './instrument';
import { dirname, join, resolve } from 'node:path';
import {
  BASE_ENV,
  ConfigError,
  defineEnv,
  loadConfig,
  mergeEnv,
  type BaseConfig,
  type Environment,
} from '@leash/config';
import { Logger } from '@nestjs/common';
import { openEngines, relayErrorLogger, type Engines, type ProcessName } from '@leash/engines';
import {
  OBSERVABILITY_ENV,
  exitOnStartupError,
  httpPortOf,
  startObservabilityServer,
  stopOnSignal,
  type ObservabilityServer,
  type BootstrapOptions,
  type RunningService,
} from '@leash/service-runtime';
import { APPROVALS_ENV, bootstrapApprovals } from '@leash/service-approvals';
import { bootstrapAudit } from '@leash/service-audit';
// The launcher runs the budget service, so it loads it at once; only the CLI loads it lazily, to start fast.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { BUDGET_ENV, bootstrapBudget } from '@leash/service-budget';
import { EXECUTOR_ENV, bootstrapExecutor, type ExecutorOverrides } from '@leash/service-executor';
import {
  PLANNER_ENV,
  bootstrapPlanner,
  describeModel,
  type AgentLoopConfig,
  type PlannerOverrides,
} from '@leash/service-planner';
import { POLICY_ENV, bootstrapPolicy } from '@leash/service-policy';
import type { ServiceName } from '@leash/contracts';
import { leashLogger, leashMetrics } from '@leash/telemetry';
import { REVIEWER_KEYS_ENV } from './cli/reviewer-keys';
import { trackedKeyFiles, trackedKeysWarning } from './tracked-keys';
import { demoReviewerKeysDir, demoReviewersWithKeys } from './demo/demo-reviewer-keys';
import { runDemo, sharedEngines } from './demo/demo';
import { NEXT_STEPS } from './demo/next-steps';
import { activeKills, formatActiveKills } from './cli/control.command';
import { withDevSigningKeys } from './dev-signing-key';
import { inboxLauncherEnv, launchInbox } from './inbox-launch';
import { startLeashWorkers } from './workers/leash-workers';
import { WORKERS_ENV } from './workers/workers.env';

/*
 * The all-in-one launcher (`npm start`): the five services in one process on
 * one pair of embedded engines. Each service is the same app it is when run
 * alone; only who opens the engines differs.
 */

type Bootstrap = (
  options: BootstrapOptions,
  overrides: LaunchOverrides,
) => Promise<RunningService<unknown>>;

/**
 * What a caller in this process may change in the services it starts.
 * Counterfactual replay (`leash replay`) answers the model and the tools
 * from a recording; `npm start` changes nothing.
 */
export interface LaunchOverrides {
  readonly planner?: PlannerOverrides;
  readonly executor?: ExecutorOverrides;
}

const SERVICES: readonly (readonly [ServiceName, Bootstrap])[] = [
  ['planner', (options, overrides) => bootstrapPlanner(options, overrides.planner)],
  ['policy', bootstrapPolicy],
  ['budget', bootstrapBudget],
  ['approvals', bootstrapApprovals],
  ['executor', (options, overrides) => bootstrapExecutor(options, overrides.executor)],
];

/** The five services and the audit recorder, in start order: what a launcher spreads over threads. */
export const LEASH_PROCESSES: readonly ProcessName[] = [...SERVICES.map(([name]) => name), 'audit'];

/** Every service's variables, so one start reports every problem in the environment. */
export const LEASH_ENV = mergeEnv(
  BASE_ENV,
  PLANNER_ENV,
  POLICY_ENV,
  BUDGET_ENV,
  APPROVALS_ENV,
  EXECUTOR_ENV,
  defineEnv(REVIEWER_KEYS_ENV),
  WORKERS_ENV,
);

export interface Leash {
  readonly config: BaseConfig;
  readonly engines: Engines;
  readonly services: readonly RunningService<unknown>[];
  /** The audit log's writer (services/audit): consumer group `audit` on every topic. */
  readonly audit: RunningService<unknown>;
  /** One metrics and health endpoint for the five services and the audit recorder. */
  readonly http: ObservabilityServer;
  /** Drains every service's consumers, then closes the engines. */
  stop(): Promise<void>;
}

export async function startLeash(
  given: Environment = process.env,
  overrides: LaunchOverrides = {},
): Promise<Leash> {
  const share = await startServices(given, overrides);
  const { engines, services, audit } = share;
  let http: ObservabilityServer | undefined;
  try {
    const observability = loadConfig(OBSERVABILITY_ENV, { env: share.env, subject: 'leash' });
    http = await startObservabilityServer({
      port: httpPortOf(observability),
      targets: [...services, audit!].map((service) => ({
        name: service.name,
        bus: engines.bus,
        store: engines.store,
      })),
    });
  } catch (error) {
    await share.stop().catch(() => undefined);
    throw error;
  }
  const served = http;
  return {
    config: share.config,
    engines,
    services,
    audit: audit!,
    http,
    stop: async () => {
      await served.close().catch(() => undefined);
      await share.stop();
    },
  };
}

/** What one thread of the launcher runs: some of the services, on engines of its own. */
export interface LeashShare {
  readonly config: BaseConfig;
  /** The environment the services read, signing keys included. */
  readonly env: Environment;
  readonly engines: Engines;
  readonly services: readonly RunningService<unknown>[];
  /** The audit recorder, when this share runs it. */
  readonly audit?: RunningService<unknown>;
  /** Drains the share's consumers, then closes its engines. */
  stop(): Promise<void>;
}

export interface ShareOptions {
  /** Which of LEASH_PROCESSES to run here. Default all. */
  readonly only?: readonly ProcessName[];
  /**
   * Relay the store's outbox to the bus (default true). The launcher's worker
   * threads leave it to its main thread: one relay, woken by their commits,
   * instead of one per thread contending for the outbox lease.
   */
  readonly relayOutbox?: boolean;
  /** Report the consumer lag of every group on the bus in this thread's metrics (default true). */
  readonly lag?: boolean;
}

/** Opens the engines and starts the services of `options.only` on them, in start order. */
export async function startServices(
  given: Environment,
  overrides: LaunchOverrides = {},
  options: ShareOptions = {},
): Promise<LeashShare> {
  const { env } = withDevSigningKeys(given);
  const only = new Set(options.only ?? LEASH_PROCESSES);
  // LEASH_ENV includes BASE_ENV; merging loses the static type, not the variables.
  const config = loadConfig(LEASH_ENV, { env, subject: 'leash' }) as unknown as BaseConfig;
  // One process, one log stream: name it before a service's logger does.
  leashLogger({ service: 'leash', level: config.LOG_LEVEL });
  const engines = await openEngines(config, {
    source: 'leash',
    relayOutbox: options.relayOutbox ?? true,
    onRelayError: relayErrorLogger((line) => new Logger('OutboxRelay').warn(line)),
  });
  const services: RunningService<unknown>[] = [];
  let audit: RunningService<unknown> | undefined;
  const stopLag =
    options.lag === false
      ? () => undefined
      : leashMetrics().addLagSource(async () => (await engines.bus.lag?.()) ?? []);
  const stop = async (): Promise<void> => {
    try {
      stopLag();
      // Consumers first, all at once: each drains its in-flight handlers while the engines are still open.
      await Promise.all([
        ...services.map((service) => service.close()),
        ...(audit ? [audit.close()] : []),
      ]);
    } finally {
      await engines.close();
    }
  };
  try {
    for (const [name, bootstrap] of SERVICES) {
      if (only.has(name)) services.push(await bootstrap({ engines, env }, overrides));
    }
    if (only.has('audit')) audit = await bootstrapAudit({ engines, env });
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { config, env, engines, services, ...(audit ? { audit } : {}), stop };
}

/** What `npm start` runs, on one thread or several (LEASH_WORKERS). */
export interface LaunchedLeash {
  readonly config: BaseConfig;
  /** The main thread's engines: what the inbox, the demo and the start-up checks use. */
  readonly engines: Engines;
  /** The five services, in start order (wherever each runs). */
  readonly services: readonly ProcessName[];
  /** Which processes each thread runs; [0] is the main thread. */
  readonly placement: readonly (readonly ProcessName[])[];
  /** What runs on the main thread. */
  readonly main: LeashShare;
  readonly http: ObservabilityServer;
  /** Settles when a worker thread fails: the launcher must then stop as a whole. */
  readonly failed: Promise<Error>;
  /** Every thread drains its consumers and closes its engines. */
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** For a benchmark: a module each worker thread calls `instrumentThread(share)` of (see leash-workers.ts). */
  readonly instrument?: string;
}

/** The threads LEASH_WORKERS asks for, and the one the engines allow: files, not memory, are shared. */
export function launchThreads(env: Environment): number {
  const { LEASH_WORKERS: threads } = loadConfig(WORKERS_ENV, { env, subject: 'leash' });
  if (threads === 1) return 1;
  const inMemory = [
    ...((env.LEASH_BUS ?? 'embedded') === 'embedded'
      ? [['LEASH_BUS_FILE', env.LEASH_BUS_FILE]]
      : []),
    ...((env.LEASH_STORE ?? 'sqlite') === 'sqlite'
      ? [['LEASH_STORE_FILE', env.LEASH_STORE_FILE]]
      : []),
  ].filter(([, file]) => file?.trim() === ':memory:');
  if (inMemory.length === 0) return threads;
  if (env.LEASH_WORKERS === undefined) return 1;
  throw new ConfigError(
    'leash',
    inMemory.map(([variable]) => ({
      variable: 'LEASH_WORKERS',
      message: `LEASH_WORKERS=${env.LEASH_WORKERS} needs files the threads can share; ${variable} is :memory:`,
    })),
  );
}

/** Starts what `npm start` runs: on the main thread alone, or spread over LEASH_WORKERS threads. */
export async function launchLeash(
  given: Environment,
  options: LaunchOptions = {},
): Promise<LaunchedLeash> {
  const services = SERVICES.map(([name]) => name);
  const threads = launchThreads(given);
  // Signing keys first, once: every thread then holds the same ones (made anew for a store in memory).
  const { env } = withDevSigningKeys(given);
  if (threads === 1) {
    const leash = await startLeash(env);
    return {
      config: leash.config,
      engines: leash.engines,
      services,
      placement: [LEASH_PROCESSES],
      main: {
        config: leash.config,
        env,
        engines: leash.engines,
        services: leash.services,
        audit: leash.audit,
        stop: leash.stop,
      },
      http: leash.http,
      failed: new Promise<Error>(() => undefined),
      stop: leash.stop,
    };
  }
  const observability = loadConfig(OBSERVABILITY_ENV, { env, subject: 'leash' });
  const workers = await startLeashWorkers({
    threads,
    env,
    startShare: (shareEnv, shareOptions) => startServices(shareEnv, {}, shareOptions),
    processes: LEASH_PROCESSES,
    httpPort: httpPortOf(observability),
    ...(options.instrument ? { instrument: options.instrument } : {}),
  });
  return {
    config: workers.main.config,
    engines: workers.main.engines,
    services,
    placement: workers.placement,
    main: workers.main,
    http: workers.http,
    failed: workers.failed,
    stop: workers.stop,
  };
}

/**
 * What `npm start` adds to the environment when unset: Nest's logs at warn
 * (the terminal is for the demo, not for start-up chatter), and the demo
 * reviewer directory with the demo reviewers' keys (made beside the store on
 * the embedded engines), so the approvals the demo prints can be answered.
 */
export function launcherEnv(env: Environment): Environment {
  const seedDemo = env.LEASH_REVIEWERS === undefined && env.LEASH_REVIEWERS_FILE === undefined;
  return {
    ...env,
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
    ...(seedDemo ? { LEASH_REVIEWERS: JSON.stringify(demoReviewersWithKeys(env).reviewers) } : {}),
  };
}

/** LEASH_DEMO: the demo runs unless it is 'false'. */
function demoEnabled(env: Environment): boolean {
  const value = env.LEASH_DEMO?.trim();
  if (value === undefined || value === '' || value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError('leash', [
    { variable: 'LEASH_DEMO', message: `LEASH_DEMO must be true or false, got "${value}"` },
  ]);
}

async function main(): Promise<void> {
  const demoKeysDir =
    process.env.LEASH_REVIEWERS === undefined && process.env.LEASH_REVIEWERS_FILE === undefined
      ? demoReviewerKeysDir(process.env)
      : undefined;
  const env = inboxLauncherEnv(launcherEnv(process.env));
  const demo = demoEnabled(env);
  const leash = await launchLeash(env);
  const sayError = (line: string) => process.stderr.write(`${line}\n`);
  // What is open by the time a stop comes: a failing worker may stop the launcher mid-start.
  const open: {
    inbox?: Awaited<ReturnType<typeof launchInbox>>;
    demo?: { close(): Promise<void> };
  } = {};
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      try {
        await open.demo?.close();
        await open.inbox?.close();
        await leash.stop();
      } finally {
        await telemetry.shutdown();
      }
    })());
  // No half a system: a worker thread that fails stops the launcher, saying why, even mid-start.
  void leash.failed.then(async (error) => {
    sayError(`Leash is stopping: ${error.stack ?? error.message}`);
    await stopAll().catch((stopError: unknown) =>
      sayError(
        `and did not stop cleanly: ${stopError instanceof Error ? stopError.message : String(stopError)}`,
      ),
    );
    process.exit(1);
  });
  const inbox = await launchInbox(
    leash.engines,
    withDevSigningKeys(env).env,
    process.env.LEASH_INBOX_PORT !== undefined,
  ).catch(async (error: unknown) => {
    await leash.stop();
    throw error;
  });
  // Plain lines for a person at the terminal, whatever LOG_LEVEL says.
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(
    `Leash is up: ${leash.services.join(', ')}; ` +
      `${describeModel(leash.config as unknown as AgentLoopConfig)}; ` +
      `bus ${leash.engines.location.bus}; store ${leash.engines.location.store}; ` +
      `metrics and health on http://127.0.0.1:${leash.http.port}` +
      (leash.placement.length > 1
        ? `; ${leash.placement.length} threads (${leash.placement.map((share) => share.join(' ')).join(' | ')})`
        : ''),
  );
  say(
    `Reviewers' inbox: ${inbox.url}  (sign in with a link from: bin/leash reviewers invite <name> --group <group>)`,
  );
  // Keys kept beside the store (or in the demo reviewers' directory) must never be committed.
  const storeFile = leash.config.LEASH_STORE_FILE;
  const keyDirs = [
    ...(storeFile !== ':memory:' ? [join(dirname(resolve(storeFile)), 'gate-keys')] : []),
    ...(demoKeysDir !== undefined ? [demoKeysDir] : []),
  ];
  for (const line of trackedKeysWarning(trackedKeyFiles(keyDirs))) say(line);
  // A kill outlives a restart: say so, or new tasks die at once with no visible cause.
  for (const line of formatActiveKills(await activeKills(leash.engines.store))) say(line);
  if (!demo) for (const line of NEXT_STEPS) say(line);
  open.inbox = inbox;
  open.demo = demo
    ? await runDemo(sharedEngines(leash.engines), {
        out: say,
        color: process.stdout.isTTY === true && !process.env.NO_COLOR,
        ...(demoKeysDir !== undefined ? { reviewerKeysDir: demoKeysDir } : {}),
      })
    : undefined;
  stopOnSignal(stopAll, { logger: { log: say, warn: say, error: sayError } });
}

if (require.main === module) main().catch(exitOnStartupError);
