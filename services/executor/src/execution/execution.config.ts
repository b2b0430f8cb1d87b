import { z } from 'zod';
import { SIGNING_ENV, integer, variable, type SigningKeyConfig } from '@leash/config';
import { DEFAULT_OUTPUT_LIMIT_BYTES, MAX_OUTPUT_LIMIT_BYTES } from './tool-output';

/**
 * The execution feature's variables, merged into EXECUTOR_ENV. LEASH_SIGNING_KEYS
 * is the ring every gate shares (libs/config): the executor verifies with it.
 */
export const EXECUTION_VARIABLES = {
  ...SIGNING_ENV,
  LEASH_TOOL_OUTPUT_MAX_BYTES: variable(
    integer(256, MAX_OUTPUT_LIMIT_BYTES).default(DEFAULT_OUTPUT_LIMIT_BYTES),
    {
      description:
        'Tool output handed to the planner is cut to this many bytes of UTF-8 (and marked truncated).',
      expected: `a whole number from 256 to ${MAX_OUTPUT_LIMIT_BYTES}`,
    },
  ),
  LEASH_SEED_SIMULATED_BACKENDS: variable(
    z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    {
      description:
        "Write the simulated backends' starting state (knowledge base, inventory, customers) at start-up where missing.",
      expected: 'true or false',
    },
  ),
};

/** What the execution module reads from the service config. */
export interface ExecutionConfig {
  readonly LEASH_SIGNING_KEYS: readonly SigningKeyConfig[];
  readonly LEASH_TOOL_OUTPUT_MAX_BYTES?: number;
  readonly LEASH_SEED_SIMULATED_BACKENDS?: boolean;
}
