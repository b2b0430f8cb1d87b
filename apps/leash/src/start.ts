import './instrument';
import { ConsoleLogger } from '@nestjs/common';
import {
  BASE_ENV,
  loadConfig,
  mergeEnv,
  nestLogLevels,
  type BaseConfig,
  type Environment,
} from '@leash/config';
import {
  exitOnStartupError,
  openEngines,
  stopOnSignal,
  type BootstrapOptions,
  type Engines,
  type RunningService,
} from '@leash/engines';
import { APPROVALS_ENV, bootstrapApprovals } from '@leash/service-approvals';
import { BUDGET_ENV, bootstrapBudget } from '@leash/service-budget';
import { EXECUTOR_ENV, bootstrapExecutor } from '@leash/service-executor';
import { PLANNER_ENV, bootstrapPlanner } from '@leash/service-planner';
import { POLICY_ENV, bootstrapPolicy } from '@leash/service-policy';
import { withDevSigningKey } from './dev-signing-key';

/*
 * The all-in-one launcher (`npm start`): the five services in one process on
 * one pair of embedded engines. Each service is the same app it is when run
 * alone; only who opens the engines differs.
 */

type Bootstrap = (options: BootstrapOptions) => Promise<RunningService<unknown>>;

const SERVICES: readonly Bootstrap[] = [
  bootstrapPlanner,
  bootstrapPolicy,
  bootstrapBudget,
  bootstrapApprovals,
  bootstrapExecutor,
];

/** Every service's variables, so one start reports every problem in the environment. */
export const LEASH_ENV = mergeEnv(
  BASE_ENV,
  PLANNER_ENV,
  POLICY_ENV,
  BUDGET_ENV,
  APPROVALS_ENV,
  EXECUTOR_ENV,
);

export interface Leash {
  readonly config: BaseConfig;
  readonly engines: Engines;
  readonly services: readonly RunningService<unknown>[];
  /** Drains every service's consumers, then closes the engines. */
  stop(): Promise<void>;
}

export async function startLeash(given: Environment = process.env): Promise<Leash> {
  const { env } = withDevSigningKey(given);
  // LEASH_ENV includes BASE_ENV; merging loses the static type, not the variables.
  const config = loadConfig(LEASH_ENV, { env, subject: 'leash' }) as unknown as BaseConfig;
  const engines = await openEngines(config, { source: 'leash' });
  const services: RunningService<unknown>[] = [];
  const stop = async (): Promise<void> => {
    try {
      // Consumers first, all at once: each drains its in-flight handlers while the engines are still open.
      await Promise.all(services.map((service) => service.close()));
    } finally {
      await engines.close();
    }
  };
  try {
    for (const bootstrap of SERVICES) services.push(await bootstrap({ engines, env }));
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { config, engines, services, stop };
}

async function main(): Promise<void> {
  const leash = await startLeash();
  const logger = new ConsoleLogger({
    prefix: 'leash',
    logLevels: nestLogLevels(leash.config.LOG_LEVEL),
  });
  logger.log(
    `Leash is up: ${leash.services.map((s) => s.name).join(', ')}; ` +
      `bus ${leash.engines.location.bus}; store ${leash.engines.location.store}`,
    'Launcher',
  );
  stopOnSignal(leash.stop, { logger });
}

if (require.main === module) main().catch(exitOnStartupError);
