import { z } from 'zod';
import {
  APPROVALS_PUBLIC_KEYS_ENV,
  BUDGET_PUBLIC_KEYS_ENV,
  POLICY_PUBLIC_KEYS_ENV,
  integer,
  keyRequirement,
  list,
  variable,
  type GatePublicKeyConfig,
  type Requirement,
} from '@leash/config';
import { AGENT_VARIABLES } from '@leash/agents';
import { DEFAULT_OUTPUT_LIMIT_BYTES, MAX_OUTPUT_LIMIT_BYTES } from './tool-output';

/**
 * The execution feature's variables, merged into EXECUTOR_ENV with
 * EXECUTION_REQUIREMENTS. The executor holds the three gates' public keys and
 * no private key: it can check a decision, a grant and an approval, and sign
 * none of them.
 */
export const EXECUTION_VARIABLES = {
  ...AGENT_VARIABLES,
  LEASH_TOOL_MODULES: variable(list().default([]), {
    description:
      "Modules with your tools' code, comma-separated: each exports `tools`, an object from tool name to async (args, ctx) => output. The definitions are in your agent folders' tools.yaml.",
    expected: 'a comma-separated list of module paths, e.g. ./agents/tools.js',
  }),
  ...POLICY_PUBLIC_KEYS_ENV,
  ...BUDGET_PUBLIC_KEYS_ENV,
  ...APPROVALS_PUBLIC_KEYS_ENV,
  LEASH_TOOL_OUTPUT_MAX_BYTES: variable(
    integer(256, MAX_OUTPUT_LIMIT_BYTES).default(DEFAULT_OUTPUT_LIMIT_BYTES),
    {
      description:
        'Tool output handed to the planner is cut to this many bytes of UTF-8 (and marked truncated).',
      expected: `a whole number from 256 to ${MAX_OUTPUT_LIMIT_BYTES}`,
    },
  ),
  LEASH_SIMULATED_WRITE_LATENCY_MS: variable(integer(0, 60_000).default(0), {
    description:
      "Each write of the simulated backends first waits this long, as a real system's latency would (a kill or a timeout cuts the wait, and nothing is written): for demos, drills and tests of a kill mid-call.",
    expected: 'a whole number of milliseconds from 0 to 60000',
  }),
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

export const EXECUTION_REQUIREMENTS: readonly Requirement[] = [
  keyRequirement('LEASH_POLICY_PUBLIC_KEYS'),
  keyRequirement('LEASH_BUDGET_PUBLIC_KEYS'),
  keyRequirement('LEASH_APPROVALS_PUBLIC_KEYS'),
];

type PublicKeys = readonly GatePublicKeyConfig[];

/** What the execution module reads from the service config. */
export interface ExecutionConfig {
  readonly LEASH_POLICY_PUBLIC_KEYS?: PublicKeys;
  readonly LEASH_POLICY_PUBLIC_KEYS_FILE?: PublicKeys;
  readonly LEASH_BUDGET_PUBLIC_KEYS?: PublicKeys;
  readonly LEASH_BUDGET_PUBLIC_KEYS_FILE?: PublicKeys;
  readonly LEASH_APPROVALS_PUBLIC_KEYS?: PublicKeys;
  readonly LEASH_APPROVALS_PUBLIC_KEYS_FILE?: PublicKeys;
  readonly LEASH_TOOL_OUTPUT_MAX_BYTES?: number;
  readonly LEASH_SIMULATED_WRITE_LATENCY_MS?: number;
  readonly LEASH_SEED_SIMULATED_BACKENDS?: boolean;
  readonly LEASH_SEED_REFERENCE_AGENTS?: boolean;
  readonly LEASH_AGENT_DIRS?: readonly string[];
  readonly LEASH_TOOL_MODULES?: readonly string[];
}
