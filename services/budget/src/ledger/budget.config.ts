import { z } from 'zod';
import { MODEL_PRICES_ENV, SIGNING_ENV, integer, variable, type DeepReadonly } from '@leash/config';

/*
 * The budget ledger's environment variables, for the service's config to
 * extend the base spec with: `extendEnv(BASE_ENV, BUDGET_LEDGER_ENV)`.
 */

export { DEFAULT_MODEL_PRICES, modelPriceTable } from '@leash/config';

export const BUDGET_LEDGER_ENV = {
  ...SIGNING_ENV,
  // Shared with the planner: one declaration, so the launcher can merge both services' variables.
  ...MODEL_PRICES_ENV,
  LEASH_BUDGET_SWEEP_INTERVAL_MS: variable(integer(100, 3_600_000).default(5_000), {
    description: 'How often reservations past their deadline are looked for and charged in full.',
    expected: 'a whole number of milliseconds from 100 to 3600000',
  }),
  LEASH_BUDGET_SETTLE_GRACE_MS: variable(integer(0, 86_400_000).default(300_000), {
    description:
      'How long after an action grant expires its reservation waits for the executor to report usage before it is charged in full.',
    expected: 'a whole number of milliseconds from 0 to 86400000',
  }),
};

export type BudgetLedgerConfig = DeepReadonly<{
  [K in keyof typeof BUDGET_LEDGER_ENV]: z.output<(typeof BUDGET_LEDGER_ENV)[K]>;
}>;
