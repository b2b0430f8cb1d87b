import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapPolicy } from './policy.app';

// Spans still buffered are sent after the consumers drain, before the process exits.
bootstrapPolicy().then(
  (service) => stopOnSignal(() => service.close().finally(() => telemetry.shutdown())),
  exitOnStartupError,
);
