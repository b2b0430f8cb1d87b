import { agentSetFromConfig } from '@leash/agents';
import { loadConfig } from '@leash/config';
import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { PolicyModule } from './app.module';
import { POLICY, POLICY_ENV, type PolicyConfig } from './config';

/**
 * Starts the policy service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export async function bootstrapPolicy(
  options?: BootstrapOptions,
): Promise<RunningService<PolicyConfig>> {
  // Before Nest: an agent folder that does not load is refused as a plain config error.
  agentSetFromConfig(loadConfig(POLICY_ENV, { env: options?.env, subject: POLICY }));
  return startService(
    // Its handlers write only to the store: a partition's ready events may share one transaction.
    { name: POLICY, env: POLICY_ENV, module: PolicyModule, batches: true },
    options,
  );
}
