import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapPlanner } from './planner.app';

// Spans still buffered are sent after the consumers drain, before the process exits.
bootstrapPlanner().then(
  (service) => stopOnSignal(() => service.close().finally(() => telemetry.shutdown())),
  exitOnStartupError,
);
