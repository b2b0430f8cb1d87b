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
import { openEngines, relayErrorLogger, type Engines } from '@leash/engines';
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
import { leashLogger, leashMetrics } from '@leash/telemetry';
import { REVIEWER_KEYS_ENV } from './cli/reviewer-keys';
import { trackedKeyFiles, trackedKeysWarning } from './tracked-keys';
import { demoReviewerKeysDir, demoReviewersWithKeys } from './demo/demo-reviewer-keys';
import { runDemo, sharedEngines } from './demo/demo';
import { NEXT_STEPS } from './demo/next-steps';
import { activeKills, formatActiveKills } from './cli/control.command';
import { withDevSigningKeys } from './dev-signing-key';
import { inboxLauncherEnv, launchInbox } from './inbox-launch';

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

const SERVICES: readonly Bootstrap[] = [
  (options, overrides) => bootstrapPlanner(options, overrides.planner),
  bootstrapPolicy,
  bootstrapBudget,
  bootstrapApprovals,
  (options, overrides) => bootstrapExecutor(options, overrides.executor),
];

/** Every service's variables, so one start reports every problem in the environment. */
export const LEASH_ENV = mergeEnv(
  BASE_ENV,
  PLANNER_ENV,
  POLICY_ENV,
  BUDGET_ENV,
  APPROVALS_ENV,
  EXECUTOR_ENV,
  defineEnv(REVIEWER_KEYS_ENV),
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
  const { env } = withDevSigningKeys(given);
  // LEASH_ENV includes BASE_ENV; merging loses the static type, not the variables.
  const config = loadConfig(LEASH_ENV, { env, subject: 'leash' }) as unknown as BaseConfig;
  const observability = loadConfig(OBSERVABILITY_ENV, { env, subject: 'leash' });
  // One process, one log stream: name it before a service's logger does.
  leashLogger({ service: 'leash', level: config.LOG_LEVEL });
  const engines = await openEngines(config, {
    source: 'leash',
    onRelayError: relayErrorLogger((line) => new Logger('OutboxRelay').warn(line)),
  });
  const services: RunningService<unknown>[] = [];
  let audit: RunningService<unknown> | undefined;
  const stopLag = leashMetrics().addLagSource(async () => (await engines.bus.lag?.()) ?? []);
  let http: ObservabilityServer | undefined;
  const stop = async (): Promise<void> => {
    try {
      stopLag();
      await http?.close().catch(() => undefined);
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
    for (const bootstrap of SERVICES) services.push(await bootstrap({ engines, env }, overrides));
    audit = await bootstrapAudit({ engines, env });
    http = await startObservabilityServer({
      port: httpPortOf(observability),
      targets: [...services, audit].map((service) => ({
        name: service.name,
        bus: engines.bus,
        store: engines.store,
      })),
    });
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { config, engines, services, audit: audit!, http, stop };
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
  const leash = await startLeash(env);
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
    `Leash is up: ${leash.services.map((s) => s.name).join(', ')}; ` +
      `${describeModel(leash.config as unknown as AgentLoopConfig)}; ` +
      `bus ${leash.engines.location.bus}; store ${leash.engines.location.store}; ` +
      `metrics and health on http://127.0.0.1:${leash.http.port}`,
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
  const running = demo
    ? await runDemo(sharedEngines(leash.engines), {
        out: say,
        color: process.stdout.isTTY === true && !process.env.NO_COLOR,
        ...(demoKeysDir !== undefined ? { reviewerKeysDir: demoKeysDir } : {}),
      })
    : undefined;
  stopOnSignal(
    async () => {
      try {
        await running?.close();
        await inbox.close();
        await leash.stop();
      } finally {
        await telemetry.shutdown();
      }
    },
    { logger: { log: say, warn: say, error: (line: string) => process.stderr.write(`${line}\n`) } },
  );
}

if (require.main === module) main().catch(exitOnStartupError);
