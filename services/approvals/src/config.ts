import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import type { ServiceName } from '@leash/contracts';

export const APPROVALS = 'approvals' satisfies ServiceName;

/** The approvals service's environment: the base variables; its own join here as its features land. */
export const APPROVALS_ENV = extendEnv(BASE_ENV, {});

export type ApprovalsConfig = ConfigOf<typeof APPROVALS_ENV>;
