import { z } from 'zod';
import { Timestamp } from './common.schema';

/*
 * Releases travel on the control topic: every instance of every service reads
 * its whole history at each start (as it does for kills) and applies it to
 * its own catalog, so a service with a new store learns every release before
 * it handles work, and one partition keeps creations and routing changes in
 * the order the operators made them.
 */

const AgentName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,63}$/)
  .describe('The agent profile name.');
const ReleaseNumber = z
  .number()
  .int()
  .positive()
  .describe("A release number: the agent's profile version it made.");

/** When a canary counts as worse than its baseline; each is a limit the canary may not pass. */
export const CanaryThresholds = z.object({
  minSample: z
    .number()
    .int()
    .positive()
    .default(20)
    .describe('Finished tasks the canary (and the baseline) need before they are compared.'),
  failureRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('Largest rise, in absolute share of tasks, of failed or over-limit tasks.'),
  denialRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('Largest rise of the share of proposed actions the policy denied.'),
  escalationRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('Largest rise of the share of tasks that ended escalated to a person.'),
  costRatio: z
    .number()
    .min(1)
    .default(1.5)
    .describe('Largest ratio of mean cost per task, canary over baseline.'),
  p95LatencyRatio: z
    .number()
    .min(1)
    .default(2)
    .describe('Largest ratio of p95 task duration, canary over baseline.'),
});
export type CanaryThresholds = z.infer<typeof CanaryThresholds>;

/**
 * An operator's Ed25519 signature of a release event: every service applies
 * a release, or a routing change other than the canary watch's automatic
 * rollback, only with a proof that verifies against an operator public key
 * it holds (LEASH_OPERATOR_PUBLIC_KEYS). Every service may write the control
 * topic, for its acknowledgements; without this, any of them could publish
 * a permissive policy and promote it.
 */
export const OperatorProof = z.object({
  keyId: z.string().min(1).max(64).describe('The id of the operator key that signed.'),
  signedAt: Timestamp,
  signature: z
    .string()
    .min(1)
    .max(200)
    .describe(
      'Ed25519, base64, over the canonical JSON of the event type, the data without `proof`, the key id and the time.',
    ),
});
export type OperatorProof = z.infer<typeof OperatorProof>;

const proof = OperatorProof.optional().describe(
  "The operator's signature; every service refuses a release or an operator's routing change without a valid one.",
);

export const ReleaseCreatedV1 = z.object({
  agent: AgentName,
  release: ReleaseNumber,
  parent: ReleaseNumber.optional().describe('The release this one was made from.'),
  description: z.string().max(2_000).default(''),
  author: z.string().min(1).max(200),
  createdAt: Timestamp,
  profile: z
    .record(z.string(), z.unknown())
    .describe("The agent profile of the release, checked by each service's catalog."),
  prompt: z.object({
    id: z.string().min(1).max(100),
    version: z.string().min(1).max(100),
    text: z.string().min(1).max(100_000),
  }),
  policy: z.object({
    id: z.string().min(1).max(100),
    version: z.number().int().positive(),
    cedar: z.string().min(1).max(200_000),
    description: z.string().max(2_000).default(''),
  }),
  toolsVersion: z.string().min(1).max(100),
  canary: CanaryThresholds.default(CanaryThresholds.parse({})),
  proof,
});
export type ReleaseCreatedV1 = z.infer<typeof ReleaseCreatedV1>;

export const ReleaseChange = z.enum(['promote', 'canary', 'rollback', 'auto-rollback']);
export type ReleaseChange = z.infer<typeof ReleaseChange>;

/** Which releases take an agent's new tasks: the whole state after a change, so applying it twice is harmless. */
export const ReleaseRoutedV1 = z.object({
  agent: AgentName,
  change: ReleaseChange,
  release: ReleaseNumber.describe('The release the change is about.'),
  current: ReleaseNumber.describe('The release that takes the tasks the canary does not.'),
  canary: z
    .object({
      release: ReleaseNumber,
      percent: z.number().gt(0).lt(100),
      since: Timestamp,
    })
    .optional()
    .describe('A release taking a share of new tasks, chosen by a stable hash of the task id.'),
  history: z
    .array(ReleaseNumber)
    .max(1_000)
    .default([])
    .describe('Earlier current releases, oldest first: a rollback returns to the last.'),
  moveRunning: z
    .boolean()
    .default(false)
    .describe(
      'Running tasks of the release left behind move to `current` (else they finish on theirs).',
    ),
  reason: z.string().min(1).max(10_000),
  by: z.string().min(1).max(200),
  at: Timestamp,
  basedOn: z
    .string()
    .max(100)
    .optional()
    .describe(
      "The `at` of the routing change this one was made from ('' for an agent's seeded routing): a change made from a routing that has changed since is refused, so two changes made at once cannot undo each other.",
    ),
  proof,
});
export type ReleaseRoutedV1 = z.infer<typeof ReleaseRoutedV1>;
