import {
  Logger,
  Module,
  type DynamicModule,
  type INestMicroservice,
  type LoggerService,
  type Type,
} from '@nestjs/common';
import { listenOnBus, type BusListener } from '@leash/bus/nest';
import {
  loadConfig,
  type BaseConfig,
  type ConfigOf,
  type EnvSpec,
  type Environment,
} from '@leash/config';
import { LeashConfigModule } from '@leash/config/nest';
import { leashMetrics, nestLogger } from '@leash/telemetry';
import { EnginesModule } from './engines.module';
import { OBSERVABILITY_ENV, httpPortOf } from './observability.env';
import { startObservabilityServer, type ObservabilityServer } from './observability-server';
import {
  openEngines,
  relayErrorLogger,
  storeBatches,
  type Engines,
  type ProcessName,
} from '@leash/engines';
import { traceStore } from './traced-store';
import { untilTheBusAnswers } from './until-the-bus-answers';

/** A process startService runs: one of the five services, or the audit recorder. */

export interface ServiceDefinition<E extends EnvSpec> {
  /** Also the consumer group and the CloudEvents source. */
  readonly name: ProcessName;
  readonly env: E;
  /** The service's feature modules. */
  readonly module: Type<unknown> | DynamicModule;
  /**
   * Every effect of its handlers goes through the store (no tool or model
   * call): a partition's ready events may be handled in batches, each in one
   * transaction (Store.inOneCommit), up to LEASH_BATCH_EVENTS at a time.
   */
  readonly batches?: boolean;
}

export interface BootstrapOptions {
  /** Shared engines (the all-in-one launcher). Without them the service opens, and later closes, its own. */
  readonly engines?: Engines;
  /** Default: process.env. */
  readonly env?: Environment;
  /** Default: JSON lines through nestjs-pino, at LOG_LEVEL, with trace and span ids. */
  readonly logger?: LoggerService | false;
  /**
   * Serve /metrics and /health on LEASH_HTTP_PORT. Default: when the service
   * opens its own engines; the launcher serves one endpoint for all five.
   */
  readonly http?: boolean;
}

export interface RunningService<C = BaseConfig> {
  readonly name: ProcessName;
  readonly config: C;
  readonly app: INestMicroservice;
  readonly engines: Engines;
  /** The metrics and health endpoint, when this service serves one. */
  readonly http?: ObservabilityServer;
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
  const observability = loadConfig(OBSERVABILITY_ENV, { env: options.env, subject: name });
  const engines =
    options.engines ??
    (await openEngines(config, {
      source: name,
      owner: name,
      onRelayError: relayErrorLogger((line) => new Logger('OutboxRelay').warn(line)),
    }));
  const ownsEngines = options.engines === undefined;
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [
      LeashConfigModule.forRoot(config),
      // The services' transactions stamp trace context on what they enqueue (see traceStore).
      EnginesModule.forRoot({
        engines: { ...engines, store: traceStore(engines.store) },
        source: name,
      }),
      definition.module,
    ],
  };
  const logger = options.logger ?? nestLogger({ service: name, level: config.LOG_LEVEL });

  let listener: BusListener | undefined;
  let http: ObservabilityServer | undefined;
  const stopLag = ownsEngines
    ? leashMetrics().addLagSource(async () => (await engines.bus.lag?.()) ?? [])
    : undefined;
  let consuming = false;
  try {
    if (options.http ?? ownsEngines) {
      // Up before the bus: an orchestrator sees a live process that is not ready yet.
      http = await startObservabilityServer({
        port: httpPortOf(observability),
        targets: [{ name, bus: engines.bus, store: engines.store, consuming: () => consuming }],
      });
    }
    // EnginesModule provides the bus (and the store) to the whole app.
    const subscribe = definition.batches
      ? storeBatches(engines.store, config.LEASH_BATCH_EVENTS)
      : undefined;
    listener = await untilTheBusAnswers(
      () =>
        listenOnBus({
          bus: engines.bus,
          group: name,
          module: root,
          logger,
          provideBus: false,
          ...(subscribe ? { subscribe } : {}),
        }),
      {
        bus: engines.bus,
        onRetry: (error, delayMs) =>
          (logger || undefined)?.warn(
            `the bus does not answer (${error instanceof Error ? error.message : String(error)}); ` +
              `trying again in ${delayMs} ms`,
            'Bootstrap',
          ),
      },
    );
    consuming = true;
    if (logger) {
      logger.log(
        `listening as group ${name} on ${listener.topics.join(', ') || 'no topics'}; ` +
          `bus ${engines.location.bus}, store ${engines.location.store}` +
          (http ? `; metrics and health on port ${http.port}` : ''),
        'Bootstrap',
      );
    }
  } catch (error) {
    stopLag?.();
    await http?.close().catch(() => undefined);
    await listener?.close().catch(() => undefined);
    if (ownsEngines) await engines.close();
    throw error;
  }

  const started = listener;
  let closing: Promise<void> | undefined;
  return {
    name,
    config,
    app: started.app,
    engines,
    http,
    close() {
      closing ??= (async () => {
        try {
          stopLag?.();
          await http?.close().catch(() => undefined);
          await started.close();
        } finally {
          if (ownsEngines) await engines.close();
        }
      })();
      return closing;
    },
  };
}
