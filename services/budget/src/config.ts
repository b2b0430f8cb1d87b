import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import type { ServiceName } from '@leash/contracts';

export const BUDGET = 'budget' satisfies ServiceName;

/** The budget service's environment: the base variables; its own join here as its features land. */
export const BUDGET_ENV = extendEnv(BASE_ENV, {});

export type BudgetConfig = ConfigOf<typeof BUDGET_ENV>;
