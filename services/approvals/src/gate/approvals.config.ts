import { z } from 'zod';
import {
  APPROVALS_SIGNING_KEY_ENV,
  BUDGET_PUBLIC_KEYS_ENV,
  POLICY_PUBLIC_KEYS_ENV,
  integer,
  keyRequirement,
  variable,
  type DeepReadonly,
  type Requirement,
} from '@leash/config';
import { parseReviewers, type Reviewer } from '../reviewers/reviewer';
import { parseTrustedFrontEnds, type TrustedFrontEnd } from '../reviewers/trusted-front-end';

const reviewerList = z.string().transform((value, ctx): Reviewer[] => {
  try {
    return parseReviewers(value, 'the list');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const frontEndList = z.string().transform((value, ctx): TrustedFrontEnd[] => {
  try {
    return parseTrustedFrontEnds(value, 'the list');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/**
 * The approval gate's variables, to merge into APPROVALS_ENV
 * (services/approvals/src/config.ts) with APPROVALS_GATE_REQUIREMENTS. The
 * approvals service holds the approvals gate's private key, and the policy and
 * budget gates' public keys to check what it is asked to put to reviewers.
 */
export const APPROVALS_GATE_VARIABLES = {
  ...APPROVALS_SIGNING_KEY_ENV,
  ...POLICY_PUBLIC_KEYS_ENV,
  ...BUDGET_PUBLIC_KEYS_ENV,
  LEASH_APPROVAL_VALIDITY_MS: variable(integer(1_000, 86_400_000).default(900_000), {
    description:
      'How long a signed approval stays valid once the last reviewer approved; the executor refuses it afterwards.',
    expected: 'milliseconds from 1000 to 86400000',
  }),
  LEASH_APPROVAL_SWEEP_INTERVAL_MS: variable(integer(100, 3_600_000).default(5_000), {
    description:
      'How often approval requests past their expiry are looked for, and denied or escalated to the next reviewer group.',
    expected: 'a whole number of milliseconds from 100 to 3600000',
  }),
  LEASH_REVIEWERS: variable(reviewerList.optional(), {
    description:
      'Reviewers to put in the directory at start-up, as JSON: [{"tenantId","reviewer","groups":[...],"tools"?:[...]}]. Each listed reviewer is replaced by what is given.',
    expected: 'a JSON array of reviewers',
  }),
  LEASH_REVIEWERS_FILE: variable(z.string().trim().min(1).optional(), {
    description:
      'A JSON file of reviewers to put in the directory at start-up, in the form LEASH_REVIEWERS takes.',
    expected: 'a file path',
  }),
  LEASH_REVIEWER_FRONT_ENDS: variable(frontEndList.optional(), {
    description:
      'Front ends trusted to vouch for the reviewers they sign in (the web inbox), as JSON: [{"name","publicKey","tenants"?:[...]}]. A verdict is accepted only signed by the reviewer\'s own key (in the reviewer directory) or by one of these.',
    expected: 'a JSON array of {name, publicKey (Ed25519, PEM or base64), tenants?}',
  }),
};

export const APPROVALS_GATE_REQUIREMENTS: readonly Requirement[] = [
  keyRequirement('LEASH_APPROVALS_SIGNING_KEY'),
  keyRequirement('LEASH_POLICY_PUBLIC_KEYS'),
  keyRequirement('LEASH_BUDGET_PUBLIC_KEYS'),
];

/** What the approval gate reads from the service config. */
export type ApprovalsGateConfig = DeepReadonly<
  z.output<z.ZodObject<typeof APPROVALS_GATE_VARIABLES>>
>;
