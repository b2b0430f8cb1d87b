import { agentSetFromConfig } from '@leash/agents';
import { loadConfig } from '@leash/config';
import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { modelEngineOf, type AgentLoopConfig } from './agent-loop/agent-loop.config';
import { requirePrices } from './agent-loop/model/model.factory';
import { PlannerModule, type PlannerOverrides } from './app.module';
import { PLANNER, PLANNER_ENV, type PlannerConfig } from './config';

/**
 * Starts the planner service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export async function bootstrapPlanner(
  options?: BootstrapOptions,
  overrides: PlannerOverrides = {},
): Promise<RunningService<PlannerConfig>> {
  // Before Nest, so a model without a price is refused as a plain config error, and before any engine opens.
  const config = loadConfig(PLANNER_ENV, {
    env: options?.env,
    subject: PLANNER,
  }) as unknown as AgentLoopConfig;
  requirePrices(config, modelEngineOf(config));
  agentSetFromConfig(config as unknown as PlannerConfig);
  return startService(
    { name: PLANNER, env: PLANNER_ENV, module: PlannerModule.forRoot(overrides) },
    options,
  );
}
