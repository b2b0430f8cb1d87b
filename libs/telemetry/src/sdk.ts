import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { TRACING_ENV, loadConfig, type TracingConfig } from '@leash/config';
import type { RunningSdk } from './sdk-export';
import { deriveTracesFromTasks, unsampledParentsDecide } from './tracing';

export interface TelemetryOptions {
  /**
   * The process's `service.name`: the service, or `leash` for the all-in-one process, where
   * each span carrying `leash.service` is exported under that service's name instead.
   */
  readonly serviceName: string;
  /** Default: LEASH_VERSION, else the version in the repository's package.json. */
  readonly serviceVersion?: string;
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the OTLP exporter (tests that read spans in memory). */
  readonly exporter?: SpanExporter;
}

export interface Telemetry {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Where spans go; undefined when tracing exports nothing. */
  readonly endpoint: string | undefined;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let started: Telemetry | undefined;

/** The traces URL from the standard OTLP variables; undefined when neither is set. */
export function tracesEndpoint(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

export function leashVersion(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (env.LEASH_VERSION) return env.LEASH_VERSION;
  try {
    const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8'));
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Starts OpenTelemetry for this process; instrument.ts calls it before
 * anything else loads. With no OTLP endpoint (and no exporter given) the SDK
 * is not even loaded and no tracer provider is registered: spans cost next to
 * nothing, and trace context that arrives in message headers is still passed
 * on (a context manager alone does that). Starting twice returns the first start.
 *
 * Spans are exported as OTLP/HTTP JSON. Metrics and logs do not go through
 * the SDK (Prometheus and stdout serve them), so none of its exporters start.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (started) return started;
  const env = options.env ?? process.env;
  const endpoint = options.exporter ? 'custom' : tracesEndpoint(env);
  const serviceVersion = options.serviceVersion ?? leashVersion(env);
  const exporting = options.exporter !== undefined || endpoint !== undefined;
  // Parsed even when nothing is exported: a mistyped sampler stops start-up, naming the variable.
  const sampling = loadConfig(TRACING_ENV, { env, subject: options.serviceName });
  // Without an exporter no span is recorded, so the SDK (a quarter of a second to load) is not
  // needed: a context manager alone passes on the trace context that arrives in headers.
  const running = exporting
    ? startExportingSdk({ ...options, serviceVersion, endpoint, sampling })
    : startContextOnly(env);
  deriveTracesFromTasks(exporting);
  unsampledParentsDecide(exporting && sampling.OTEL_TRACES_SAMPLER.startsWith('parentbased_'));
  // The SDK sets it too; set here so the bus propagates even if OTEL_SDK_DISABLED is set.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let shutdown: Promise<void> | undefined;
  started = {
    serviceName: options.serviceName,
    serviceVersion,
    endpoint: endpoint === 'custom' ? undefined : endpoint,
    flush: () => running.flush(),
    shutdown() {
      shutdown ??= running.shutdown().finally(() => {
        if (exporting) trace.disable();
        deriveTracesFromTasks(false);
        unsampledParentsDecide(false);
        started = undefined;
      });
      return shutdown;
    },
  };
  return started;
}

/** The exporting SDK, loaded only when spans are exported. */
function startExportingSdk(options: Parameters<RunningSdkStart>[0]): RunningSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require('./sdk-export') as { startSdk: RunningSdkStart };
  return startSdk(options);
}

type RunningSdkStart = (options: {
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly endpoint: string | undefined;
  readonly exporter?: SpanExporter;
  readonly sampling: TracingConfig;
}) => RunningSdk;

/** The context manager the SDK would register, alone (none where OTEL_SDK_DISABLED=true, as the SDK). */
function startContextOnly(env: Readonly<Record<string, string | undefined>>): RunningSdk {
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const manager = disabled ? undefined : new AsyncLocalStorageContextManager().enable();
  if (manager) context.setGlobalContextManager(manager);
  return {
    flush: async () => undefined,
    shutdown: async () => {
      if (manager) context.disable();
    },
  };
}
