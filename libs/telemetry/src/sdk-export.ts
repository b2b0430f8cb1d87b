import { trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { TracingConfig } from '@leash/config';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { leashSampler } from './sampling';
import { ServiceTracerProvider } from './service-tracer-provider';

/** A started SDK, as startTelemetry drives it. */
export interface RunningSdk {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The NodeSDK with this process's span exporter (OTLP/HTTP to `endpoint`, or the
 * one given) behind a tracer provider per service. Loaded by startTelemetry only
 * when spans are exported.
 */
export function startSdk(options: {
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly endpoint: string | undefined;
  readonly exporter?: SpanExporter;
  readonly sampling: TracingConfig;
}): RunningSdk {
  const processor = new BatchSpanProcessor(
    options.exporter ?? new OTLPTraceExporter({ url: options.endpoint }),
  );
  const sampler = leashSampler(options.sampling);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
    }),
    // Host and process detectors add nothing a span needs here, and cost start-up time.
    autoDetectResources: false,
    textMapPropagator: new W3CTraceContextPropagator(),
    // The SDK registers no tracer provider: ours (below) keeps one per service. An
    // unsampled span would tell every downstream service not to record this task's trace.
    spanProcessors: [],
    sampler,
    // Without these the SDK would start OTLP metric and log exporters from its defaults.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  trace.setGlobalTracerProvider(
    new ServiceTracerProvider({
      serviceName: options.serviceName,
      serviceVersion: options.serviceVersion,
      spanProcessors: [processor],
      sampler,
    }),
  );
  return {
    flush: () => processor.forceFlush(),
    shutdown: async () => {
      await Promise.all([sdk.shutdown(), processor.shutdown()]);
    },
  };
}
