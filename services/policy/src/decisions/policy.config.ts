import { z } from 'zod';
import { SIGNING_ENV, integer, variable, type DeepReadonly } from '@leash/config';

/**
 * The decision gate's variables, merged into POLICY_ENV. LEASH_SIGNING_KEYS is
 * the ring every gate shares (libs/config).
 */
export const POLICY_DECISIONS_VARIABLES = {
  ...SIGNING_ENV,
  LEASH_DECISION_TTL_MS: variable(integer(1_000, 86_400_000).default(900_000), {
    description:
      'How long a signed policy decision stays valid; the executor refuses it afterwards.',
    expected: 'milliseconds from 1000 to 86400000',
  }),
  LEASH_SEED_REFERENCE_AGENTS: variable(
    z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    {
      description:
        'Put the reference agents (it-helpdesk, procurement, support) in the catalog at start-up, leaving existing versions as they are.',
      expected: 'true or false',
    },
  ),
};

/** What the decisions module reads from the service config. */
export type PolicyDecisionsConfig = DeepReadonly<{
  [K in keyof typeof POLICY_DECISIONS_VARIABLES]: z.output<(typeof POLICY_DECISIONS_VARIABLES)[K]>;
}>;
