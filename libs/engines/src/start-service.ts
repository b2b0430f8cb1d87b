import {
  ConsoleLogger,
  Module,
  type DynamicModule,
  type INestMicroservice,
  type LoggerService,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusServer } from '@leash/bus';
import {
  LeashConfigModule,
  loadConfig,
  nestLogLevels,
  type BaseConfig,
  type ConfigOf,
  type EnvSpec,
  type Environment,
} from '@leash/config';
import type { ServiceName } from '@leash/contracts';
import { EnginesModule } from './engines.module';
import { openEngines, type Engines } from './open-engines';

export interface ServiceDefinition<E extends EnvSpec> {
  /** Also the consumer group and the CloudEvents source. */
  readonly name: ServiceName;
  readonly env: E;
  /** The service's feature modules. */
  readonly module: Type<unknown>;
}

export interface BootstrapOptions {
  /** Shared engines (the all-in-one launcher). Without them the service opens, and later closes, its own. */
  readonly engines?: Engines;
  /** Default: process.env. */
  readonly env?: Environment;
  /** Default: a console logger prefixed with the service name, at LOG_LEVEL. */
  readonly logger?: LoggerService | false;
}

export interface RunningService<C = BaseConfig> {
  readonly name: ServiceName;
  readonly config: C;
  readonly app: INestMicroservice;
  readonly engines: Engines;
  /** Drains the service's consumers, closes the app, then the engines if it opened them. */
  close(): Promise<void>;
}

@Module({})
class ServiceRootModule {}

/**
 * Parses the service's environment (failing fast, every problem at once),
 * opens the engines unless given, and listens on the bus as a Nest
 * microservice whose consumer group is the service name.
 */
export async function startService<E extends EnvSpec>(
  definition: ServiceDefinition<E>,
  options: BootstrapOptions = {},
): Promise<RunningService<ConfigOf<E>>> {
  const { name } = definition;
  const config = loadConfig(definition.env, { env: options.env, subject: name }) as ConfigOf<E> &
    BaseConfig;
  const engines = options.engines ?? (await openEngines(config, { source: name }));
  const ownsEngines = options.engines === undefined;
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [
      LeashConfigModule.forRoot(config),
      EnginesModule.forRoot({ engines, source: name }),
      definition.module,
    ],
  };
  const logger =
    options.logger ??
    new ConsoleLogger({ prefix: `leash:${name}`, logLevels: nestLogLevels(config.LOG_LEVEL) });

  let app: INestMicroservice | undefined;
  try {
    app = await NestFactory.createMicroservice(root, {
      strategy: new BusServer({ bus: engines.bus, group: name }),
      logger,
      // Nest would otherwise abort() the process on a start-up error; the caller decides.
      abortOnError: false,
    });
    const listening = (await app.listen()) as { topics?: readonly string[] } | undefined;
    if (logger) {
      logger.log(
        `listening as group ${name} on ${listening?.topics?.join(', ') || 'no topics'}; ` +
          `bus ${engines.location.bus}, store ${engines.location.store}`,
        'Bootstrap',
      );
    }
  } catch (error) {
    await app?.close().catch(() => undefined);
    if (ownsEngines) await engines.close();
    throw error;
  }

  const started = app;
  let closing: Promise<void> | undefined;
  return {
    name,
    config,
    app: started,
    engines,
    close() {
      closing ??= (async () => {
        try {
          await started.close();
        } finally {
          if (ownsEngines) await engines.close();
        }
      })();
      return closing;
    },
  };
}
