import { startService, type BootstrapOptions, type RunningService } from '@leash/engines';
import { PlannerModule } from './app.module';
import { PLANNER, PLANNER_ENV, type PlannerConfig } from './config';

/**
 * Starts the planner service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export function bootstrapPlanner(
  options?: BootstrapOptions,
): Promise<RunningService<PlannerConfig>> {
  return startService({ name: PLANNER, env: PLANNER_ENV, module: PlannerModule }, options);
}
