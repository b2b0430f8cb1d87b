import { BASE_ENV, extendEnv, type ConfigOf } from '@leash/config';
import { EXECUTION_REQUIREMENTS, EXECUTION_VARIABLES } from './execution/execution.config';
import type { ServiceName } from '@leash/contracts';

export const EXECUTOR = 'executor' satisfies ServiceName;

/** The executor service's environment: the base variables and the execution feature's. */
export const EXECUTOR_ENV = extendEnv(BASE_ENV, EXECUTION_VARIABLES, EXECUTION_REQUIREMENTS);

export type ExecutorConfig = ConfigOf<typeof EXECUTOR_ENV>;
