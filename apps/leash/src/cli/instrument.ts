/*
 * OpenTelemetry start-up for the CLI, imported first. Its spans (one per
 * command, and the publishes under it) are exported as service `leash-cli`
 * when OTEL_EXPORTER_OTLP_ENDPOINT is set; a task submitted here then has its
 * root in the CLI's trace. main() flushes them before the process exits.
 */
import { startTelemetry } from '@leash/telemetry';

export const telemetry = startTelemetry({ serviceName: 'leash-cli' });
