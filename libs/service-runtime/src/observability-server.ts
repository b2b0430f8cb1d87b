import {
  Controller,
  Get,
  Header,
  Inject,
  Module,
  type DynamicModule,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TerminusModule,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import type { Bus } from '@leash/bus';
import type { Store } from '@leash/store';
import { leashMetrics, nestLogger } from '@leash/telemetry';

/*
 * The HTTP side of a service: Prometheus metrics and liveness/readiness
 * (@nestjs/terminus). Its own small Nest app, beside the service's bus
 * microservice, so one launcher process serves one endpoint for all five.
 *
 *   GET /metrics        Prometheus text format
 *   GET /health/live    200 while the process serves requests
 *   GET /health/ready   200 when every target's bus and store answer and its
 *                       consumers have joined their group, else 503
 */

export interface HealthTarget {
  /** The service (or `leash`), naming its indicators: `<name>.bus`, `<name>.store`. */
  readonly name: string;
  readonly bus: Pick<Bus, 'ping'>;
  readonly store: Pick<Store, 'ping'>;
  /**
   * False until the target's consumers are in place (`<name>.consumers`): a
   * service that waits for its broker at start-up serves its endpoint, not ready.
   */
  readonly consuming?: () => boolean;
}

export interface ObservabilityServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Default: all interfaces, so a scraper or an orchestrator's probe reaches it. */
  readonly host?: string;
  readonly targets: readonly HealthTarget[];
  readonly logger?: LoggerService | false;
  /** How long a ping may take before the check counts it down. Default 2 s. */
  readonly pingTimeoutMs?: number;
  /**
   * The text of /metrics. Default: this thread's registry. A launcher whose
   * services run in worker threads merges theirs in.
   */
  readonly metrics?: () => Promise<string>;
}

export interface ObservabilityServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for local clients and tests. */
  readonly url: string;
  close(): Promise<void>;
}

const OPTIONS = Symbol('leash:observability-options');

function withTimeout(work: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(OPTIONS) private readonly options: ObservabilityServerOptions,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const timeoutMs = this.options.pingTimeoutMs ?? 2_000;
    const ping =
      (key: string, engine: { ping(): Promise<void> }) =>
      async (): Promise<HealthIndicatorResult> => {
        const indicator = this.indicators.check(key);
        try {
          await withTimeout(engine.ping(), timeoutMs, key);
          return indicator.up();
        } catch (error) {
          return indicator.down({
            message: error instanceof Error ? error.message : String(error),
          });
        }
      };
    const consuming = (target: HealthTarget) => async (): Promise<HealthIndicatorResult> => {
      const indicator = this.indicators.check(`${target.name}.consumers`);
      return target.consuming?.() === false
        ? indicator.down({ message: 'not consuming yet: waiting for the bus' })
        : indicator.up();
    };
    return this.health.check(
      this.options.targets.flatMap((target) => [
        ping(`${target.name}.bus`, target.bus),
        ping(`${target.name}.store`, target.store),
        ...(target.consuming ? [consuming(target)] : []),
      ]),
    );
  }
}

@Controller()
class MetricsController {
  constructor(@Inject(OPTIONS) private readonly options: ObservabilityServerOptions) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.options.metrics?.() ?? leashMetrics().registry.metrics();
  }
}

@Module({})
class ObservabilityModule {
  static forRoot(options: ObservabilityServerOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [{ provide: OPTIONS, useValue: options }],
    };
  }
}

/** Starts the metrics and health endpoint; resolves once it listens. */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const app: INestApplication = await NestFactory.create(ObservabilityModule.forRoot(options), {
    // Not `false`: Nest applies an app's logger to the static Logger of the whole
    // process, so a silent HTTP app created last would silence every service's logs.
    logger: options.logger ?? nestLogger({ service: 'leash' }),
    abortOnError: false,
  });
  await app.listen(options.port, options.host ?? '0.0.0.0');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
