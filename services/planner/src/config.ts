import { AGENT_VARIABLES } from '@leash/agents';
import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import type { ServiceName } from '@leash/contracts';
import { AGENT_LOOP_REQUIREMENTS, AGENT_LOOP_VARIABLES } from './agent-loop/agent-loop.config';

export const PLANNER = 'planner' satisfies ServiceName;

/** The planner service's environment: the base variables and the agent loop's. */
export const PLANNER_ENV = extendEnv(
  BASE_ENV,
  { ...AGENT_LOOP_VARIABLES, ...AGENT_VARIABLES },
  AGENT_LOOP_REQUIREMENTS,
);

export type PlannerConfig = ConfigOf<typeof PLANNER_ENV>;
