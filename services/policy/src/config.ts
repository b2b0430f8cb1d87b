import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import type { ServiceName } from '@leash/contracts';

export const POLICY = 'policy' satisfies ServiceName;

/** The policy service's environment: the base variables; its own join here as its features land. */
export const POLICY_ENV = extendEnv(BASE_ENV, {});

export type PolicyConfig = ConfigOf<typeof POLICY_ENV>;
