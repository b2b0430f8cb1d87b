import { agentSetFromConfig } from '@leash/agents';
import { loadConfig } from '@leash/config';
import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { registryForAgents } from './tools/tool-modules';
import { ExecutorModule, type ExecutorOverrides } from './app.module';
import { EXECUTOR, EXECUTOR_ENV, type ExecutorConfig } from './config';

/**
 * Starts the executor service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export async function bootstrapExecutor(
  options?: BootstrapOptions,
  overrides: ExecutorOverrides = {},
): Promise<RunningService<ExecutorConfig>> {
  // Before Nest: agent folders that do not load, or tools without code, are refused as config errors.
  const config = loadConfig(EXECUTOR_ENV, { env: options?.env, subject: EXECUTOR });
  registryForAgents(agentSetFromConfig(config), config.LEASH_TOOL_MODULES);
  return startService(
    { name: EXECUTOR, env: EXECUTOR_ENV, module: ExecutorModule.forRoot(overrides) },
    options,
  );
}
