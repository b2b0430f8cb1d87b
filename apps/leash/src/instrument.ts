/*
 * OpenTelemetry start-up for the all-in-one process and the CLI, imported
 * first. One SDK serves the process, with a tracer provider per service: a
 * span that names its service in `leash.service` is exported with that
 * service's resource (service.name planner, policy, ...), the rest as `leash`.
 */
import { startTelemetry } from '@leash/telemetry';

export const telemetry = startTelemetry({ serviceName: 'leash' });
