import { AGENT_VARIABLES } from '@leash/agents';
import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import { BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS } from './ledger/budget.config';
import type { ServiceName } from '@leash/contracts';

export const BUDGET = 'budget' satisfies ServiceName;

/** The budget service's environment: the base variables and the ledger's. */
export const BUDGET_ENV = extendEnv(
  BASE_ENV,
  { ...BUDGET_LEDGER_ENV, ...AGENT_VARIABLES },
  BUDGET_LEDGER_REQUIREMENTS,
);

export type BudgetConfig = ConfigOf<typeof BUDGET_ENV>;
