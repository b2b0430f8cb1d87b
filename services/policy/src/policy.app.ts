import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { PolicyModule } from './app.module';
import { POLICY, POLICY_ENV, type PolicyConfig } from './config';

/**
 * Starts the policy service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export function bootstrapPolicy(options?: BootstrapOptions): Promise<RunningService<PolicyConfig>> {
  return startService({ name: POLICY, env: POLICY_ENV, module: PolicyModule }, options);
}
