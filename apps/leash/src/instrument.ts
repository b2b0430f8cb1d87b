/*
 * OpenTelemetry start-up for the all-in-one process and the CLI, imported
 * first. One SDK serves the process: its resource is service.name `leash`,
 * and each span names the service it works for in `leash.service`.
 */
import { startTelemetry } from '@leash/telemetry';

export const telemetry = startTelemetry({ serviceName: 'leash' });
