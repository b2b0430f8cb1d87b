import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { BudgetModule } from './app.module';
import { BUDGET, BUDGET_ENV, type BudgetConfig } from './config';

/**
 * Starts the budget service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export function bootstrapBudget(options?: BootstrapOptions): Promise<RunningService<BudgetConfig>> {
  return startService({ name: BUDGET, env: BUDGET_ENV, module: BudgetModule }, options);
}
