import type { z } from 'zod';
import {
  POLICY_SIGNING_KEY_ENV,
  integer,
  keyRequirement,
  variable,
  type DeepReadonly,
  type Requirement,
} from '@leash/config';

/**
 * The decision gate's variables, merged into POLICY_ENV. The policy service
 * holds the policy gate's private key and no other key: it checks nobody's
 * signature.
 */
export const POLICY_DECISIONS_VARIABLES = {
  ...POLICY_SIGNING_KEY_ENV,
  LEASH_DECISION_TTL_MS: variable(integer(1_000, 86_400_000).default(900_000), {
    description:
      'How long a signed policy decision stays valid; the executor refuses it afterwards.',
    expected: 'milliseconds from 1000 to 86400000',
  }),
};

export const POLICY_DECISIONS_REQUIREMENTS: readonly Requirement[] = [
  keyRequirement('LEASH_POLICY_SIGNING_KEY'),
];

/** What the decisions module reads from the service config. */
export type PolicyDecisionsConfig = DeepReadonly<
  z.output<z.ZodObject<typeof POLICY_DECISIONS_VARIABLES>>
>;
