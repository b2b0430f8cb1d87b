import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { ApprovalsModule } from './app.module';
import { APPROVALS, APPROVALS_ENV, type ApprovalsConfig } from './config';

/**
 * Starts the approvals service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export function bootstrapApprovals(
  options?: BootstrapOptions,
): Promise<RunningService<ApprovalsConfig>> {
  return startService({ name: APPROVALS, env: APPROVALS_ENV, module: ApprovalsModule }, options);
}
