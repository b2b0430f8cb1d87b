/*
 * OpenTelemetry start-up, imported first by main.ts so the SDK's context
 * manager and tracer provider are in place before any module that makes spans
 * loads. Spans go to OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP); with it unset
 * nothing is exported and nothing complains.
 */
import { startTelemetry } from '@leash/telemetry';

export const telemetry = startTelemetry({ serviceName: 'audit' });
