import { z } from 'zod';
import {
  APPROVALS_PUBLIC_KEYS_ENV,
  BUDGET_SIGNING_KEY_ENV,
  POLICY_PUBLIC_KEYS_ENV,
  MODEL_PRICES_ENV,
  integer,
  keyRequirement,
  variable,
  type DeepReadonly,
  type Requirement,
} from '@leash/config';

/*
 * The budget ledger's environment variables, for the service's config to
 * extend the base spec with:
 * `extendEnv(BASE_ENV, BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS)`.
 * The budget service holds the budget gate's private key, which signs grants,
 * the policy gate's public keys (it reserves nothing for a decision the policy
 * gate did not sign) and the approvals gate's (it frees a reservation only on
 * a rejection the approvals gate signed).
 */

export { DEFAULT_MODEL_PRICES, modelPriceTable } from '@leash/config';

export const BUDGET_LEDGER_ENV = {
  ...BUDGET_SIGNING_KEY_ENV,
  ...POLICY_PUBLIC_KEYS_ENV,
  ...APPROVALS_PUBLIC_KEYS_ENV,
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

export const BUDGET_LEDGER_REQUIREMENTS: readonly Requirement[] = [
  keyRequirement('LEASH_BUDGET_SIGNING_KEY'),
  keyRequirement('LEASH_POLICY_PUBLIC_KEYS'),
  keyRequirement('LEASH_APPROVALS_PUBLIC_KEYS'),
];

export type BudgetLedgerConfig = DeepReadonly<z.output<z.ZodObject<typeof BUDGET_LEDGER_ENV>>>;
