import { AGENT_VARIABLES } from '@leash/agents';
import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import {
  POLICY_DECISIONS_REQUIREMENTS,
  POLICY_DECISIONS_VARIABLES,
} from './decisions/policy.config';
import type { ServiceName } from '@leash/contracts';

export const POLICY = 'policy' satisfies ServiceName;

/** The policy service's environment: the base variables and the decision gate's. */
export const POLICY_ENV = extendEnv(
  BASE_ENV,
  { ...POLICY_DECISIONS_VARIABLES, ...AGENT_VARIABLES },
  POLICY_DECISIONS_REQUIREMENTS,
);

export type PolicyConfig = ConfigOf<typeof POLICY_ENV>;
