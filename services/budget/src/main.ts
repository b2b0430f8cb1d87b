import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapBudget } from './budget.app';

// Spans still buffered are sent after the consumers drain, before the process exits.
bootstrapBudget().then(
  (service) => stopOnSignal(() => service.close().finally(() => telemetry.shutdown())),
  exitOnStartupError,
);
