import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { ServiceTracerProvider } from './service-tracer-provider';
import { deriveTracesFromTasks } from './tracing';

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
 * Starts the OpenTelemetry NodeSDK for this process; instrument.ts calls it
 * before anything else loads. With no OTLP endpoint the exporter is off and
 * no tracer provider is registered: spans cost next to nothing, and trace
 * context that arrives in message headers is still passed on. Starting twice
 * returns the first start.
 *
 * Spans are exported as OTLP/HTTP JSON. Metrics and logs do not go through
 * the SDK (Prometheus and stdout serve them), so none of its exporters start.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (started) return started;
  const env = options.env ?? process.env;
  const endpoint = options.exporter ? 'custom' : tracesEndpoint(env);
  const serviceVersion = options.serviceVersion ?? leashVersion(env);
  const processors: SpanProcessor[] = [];
  if (options.exporter) processors.push(new BatchSpanProcessor(options.exporter));
  else if (endpoint)
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint })));
  const sampler = new ParentBasedSampler({ root: new AlwaysOnSampler() });
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: serviceVersion,
    }),
    // Host and process detectors add nothing a span needs here, and cost start-up time.
    autoDetectResources: false,
    textMapPropagator: new W3CTraceContextPropagator(),
    // The SDK registers no tracer provider: ours (below) keeps one per service. Without a
    // processor there is none at all: spans are the API's no-ops. An unsampled span instead
    // would tell every downstream service not to record this task's trace.
    spanProcessors: [],
    sampler,
    // Without these the SDK would start OTLP metric and log exporters from its defaults.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  if (processors.length > 0) {
    trace.setGlobalTracerProvider(
      new ServiceTracerProvider({
        serviceName: options.serviceName,
        serviceVersion,
        spanProcessors: processors,
        sampler,
      }),
    );
  }
  deriveTracesFromTasks(processors.length > 0);
  // The SDK sets it too; set here so the bus propagates even if OTEL_SDK_DISABLED is set.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let shutdown: Promise<void> | undefined;
  started = {
    serviceName: options.serviceName,
    serviceVersion,
    endpoint: endpoint === 'custom' ? undefined : endpoint,
    async flush() {
      await Promise.all(processors.map((processor) => processor.forceFlush()));
    },
    shutdown() {
      shutdown ??= Promise.all([
        sdk.shutdown(),
        ...processors.map((processor) => processor.shutdown()),
      ])
        .then(() => undefined)
        .finally(() => {
          if (processors.length > 0) trace.disable();
          deriveTracesFromTasks(false);
          started = undefined;
        });
      return shutdown;
    },
  };
  return started;
}
