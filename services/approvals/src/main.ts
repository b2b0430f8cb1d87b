import { telemetry } from './instrument';
import { exitOnStartupError, stopOnSignal } from '@leash/service-runtime';
import { bootstrapApprovals } from './approvals.app';

// Spans still buffered are sent after the consumers drain, before the process exits.
bootstrapApprovals().then(
  (service) => stopOnSignal(() => service.close().finally(() => telemetry.shutdown())),
  exitOnStartupError,
);
