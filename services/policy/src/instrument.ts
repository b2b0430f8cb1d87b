/*
 * OpenTelemetry start-up, imported first by main.ts so it runs before the
 * modules it instruments load. For now it registers the W3C trace-context
 * propagator, so the bus carries `traceparent`/`tracestate` across hops. The
 * full SDK (tracer provider, OTLP exporter for OTEL_EXPORTER_OTLP_ENDPOINT,
 * GenAI spans) comes in a later issue.
 */
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

propagation.setGlobalPropagator(new W3CTraceContextPropagator());
