import { z } from 'zod';
import { CanaryThresholds, ReleaseChange } from '@leash/contracts';
import { defineAggregate } from '@leash/store';

/*
 * A release is an agent's profile version (its number is the profile version
 * every event of its tasks carries) plus what the profile alone does not
 * pin: the prompt's text, the policy version, the toolset version, who made
 * it and why. Never rename an aggregate: it names a table and a collection.
 */

const Timestamp = z.iso.datetime({ offset: true });

export const ReleaseDoc = z.object({
  agent: z.string().min(1),
  release: z.number().int().positive(),
  parent: z.number().int().positive().optional(),
  description: z.string(),
  author: z.string().min(1),
  createdAt: Timestamp,
  promptId: z.string().min(1),
  promptVersion: z.string().min(1),
  policyId: z.string().min(1),
  policyVersion: z.number().int().positive(),
  toolsVersion: z.string().min(1),
  canary: CanaryThresholds,
  /** SHA-256 of the event that made it: the same release applied twice is one release. */
  contentHash: z.string().min(1),
});
export type ReleaseDoc = z.infer<typeof ReleaseDoc>;

export const releases = defineAggregate({
  name: 'catalog_releases',
  schema: ReleaseDoc,
  id: (doc) => `${doc.agent}@${doc.release}`,
  indexes: [['agent', 'release']],
});

export const PromptVersionDoc = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  text: z.string().min(1),
});
export type PromptVersionDoc = z.infer<typeof PromptVersionDoc>;

export const promptVersions = defineAggregate({
  name: 'catalog_prompt_versions',
  schema: PromptVersionDoc,
  id: (doc) => `${doc.id}@${doc.version}`,
});

/** Which releases take an agent's new tasks, as the last routing change left it. */
export const ReleaseRouteDoc = z.object({
  agent: z.string().min(1),
  current: z.number().int().positive(),
  canary: z
    .object({
      release: z.number().int().positive(),
      percent: z.number().gt(0).lt(100),
      since: Timestamp,
    })
    .optional(),
  history: z.array(z.number().int().positive()),
  change: ReleaseChange,
  release: z.number().int().positive(),
  moveRunning: z.boolean(),
  reason: z.string(),
  by: z.string().min(1),
  at: Timestamp,
});
export type ReleaseRouteDoc = z.infer<typeof ReleaseRouteDoc>;

export const releaseRoutes = defineAggregate({
  name: 'catalog_release_routes',
  schema: ReleaseRouteDoc,
  id: (doc) => doc.agent,
});
