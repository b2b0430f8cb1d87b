import { agentSetFromConfig } from '@leash/agents';
import { loadConfig } from '@leash/config';
import { startService, type BootstrapOptions, type RunningService } from '@leash/service-runtime';
import { BudgetModule } from './app.module';
import { BUDGET, BUDGET_ENV, type BudgetConfig } from './config';

/**
 * Starts the budget service on the bus: standalone (main.ts, own engines) or
 * beside the others on shared engines (the all-in-one launcher).
 */
export async function bootstrapBudget(
  options?: BootstrapOptions,
): Promise<RunningService<BudgetConfig>> {
  // Before Nest: an agent folder that does not load is refused as a plain config error.
  agentSetFromConfig(loadConfig(BUDGET_ENV, { env: options?.env, subject: BUDGET }));
  return startService(
    // Its handlers write only to the store: a partition's ready events may share one transaction.
    { name: BUDGET, env: BUDGET_ENV, module: BudgetModule, batches: true },
    options,
  );
}
