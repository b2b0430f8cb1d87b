import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapAudit } from './audit.app';

// Spans still buffered are sent after the consumers drain, before the process exits.
bootstrapAudit().then(
  (service) => stopOnSignal(() => service.close().finally(() => telemetry.shutdown())),
  exitOnStartupError,
);
