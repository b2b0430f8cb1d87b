import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import type { ServiceName } from '@leash/contracts';

export const EXECUTOR = 'executor' satisfies ServiceName;

/** The executor service's environment: the base variables; its own join here as its features land. */
export const EXECUTOR_ENV = extendEnv(BASE_ENV, {});

export type ExecutorConfig = ConfigOf<typeof EXECUTOR_ENV>;
