import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import type { ServiceName } from '@leash/contracts';

export const PLANNER = 'planner' satisfies ServiceName;

/** The planner service's environment: the base variables; its own join here as its features land. */
export const PLANNER_ENV = extendEnv(BASE_ENV, {});

export type PlannerConfig = ConfigOf<typeof PLANNER_ENV>;
