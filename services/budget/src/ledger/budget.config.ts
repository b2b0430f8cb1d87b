import { z } from 'zod';
import { SIGNING_ENV, integer, variable } from '@leash/config';
import { parsePriceTable, type PriceTable } from './price-table';

/*
 * The budget ledger's environment variables, for the service's config to
 * extend the base spec with: `extendEnv(BASE_ENV, BUDGET_LEDGER_ENV)`.
 */

/** `model=input/output,...` in US dollars per million tokens. */
export function modelPriceTable() {
  return z.string().transform((value, ctx): PriceTable => {
    try {
      return parsePriceTable(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/**
 * List prices of the models the reference agents name, and of the simulated
 * engines (which cost nothing real, but are priced so a demo's ledger shows spend).
 */
export const DEFAULT_MODEL_PRICES =
  'gpt-4o-mini=0.15/0.6,gpt-4o=2.5/10,gpt-4.1-mini=0.4/1.6,scripted=0.15/0.6,replay=0.15/0.6';

export const BUDGET_LEDGER_ENV = {
  ...SIGNING_ENV,
  LEASH_MODEL_PRICES: variable(modelPriceTable().default(parsePriceTable(DEFAULT_MODEL_PRICES)), {
    description:
      'Price of each model the planner may call, in US dollars per million input/output tokens. A model not listed is refused, never free.',
    expected: 'a comma-separated list of model=input/output, e.g. gpt-4o-mini=0.15/0.6',
    defaultText: DEFAULT_MODEL_PRICES,
  }),
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

export type BudgetLedgerConfig = {
  readonly [K in keyof typeof BUDGET_LEDGER_ENV]: z.output<(typeof BUDGET_LEDGER_ENV)[K]>;
};
