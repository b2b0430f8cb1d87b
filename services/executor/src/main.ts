import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapExecutor } from './executor.app';

// Spans still buffered are sent after the consumers drain, before the process exits.
bootstrapExecutor().then(
  (service) => stopOnSignal(() => service.close().finally(() => telemetry.shutdown())),
  exitOnStartupError,
);
