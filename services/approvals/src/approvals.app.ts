import { agentSetFromConfig } from '@leash/agents';
import { loadConfig } from '@leash/config';
import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { ApprovalsModule } from './app.module';
import { APPROVALS, APPROVALS_ENV, type ApprovalsConfig } from './config';

/**
 * Starts the approvals service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export async function bootstrapApprovals(
  options?: BootstrapOptions,
): Promise<RunningService<ApprovalsConfig>> {
  // Before Nest: an agent folder that does not load is refused as a plain config error.
  agentSetFromConfig(loadConfig(APPROVALS_ENV, { env: options?.env, subject: APPROVALS }));
  return startService(
    // Its handlers write only to the store: a partition's ready events may share one transaction.
    { name: APPROVALS, env: APPROVALS_ENV, module: ApprovalsModule, batches: true },
    options,
  );
}
