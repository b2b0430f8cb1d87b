import { z } from 'zod';
import { defineAggregate } from '@leash/store';
import { AgentProfile } from '../agent-profile';
import { PolicyVersion } from '../policy-document';

/*
 * The catalog's documents. Versions are immutable once written; a head per
 * profile name and policy id says which version is current. Never rename an
 * aggregate: it names a table and a collection.
 */

const Timestamp = z.iso.datetime({ offset: true });

export const ProfileVersionDoc = z.object({
  name: z.string().min(1),
  version: z.number().int().positive(),
  profile: AgentProfile,
  /** toolsetVersion() of the profile's tools when it was published. */
  toolsVersion: z.string().min(1),
  author: z.string().min(1),
  createdAt: Timestamp,
});
export type ProfileVersionDoc = z.infer<typeof ProfileVersionDoc>;

export const profileVersions = defineAggregate({
  name: 'catalog_profile_versions',
  schema: ProfileVersionDoc,
  id: (doc) => `${doc.name}@${doc.version}`,
  indexes: [['name', 'version']],
});

export const policyVersions = defineAggregate({
  name: 'catalog_policy_versions',
  schema: PolicyVersion,
  id: (doc) => `${doc.policyId}@${doc.version}`,
  indexes: [['policyId', 'version']],
});

export const ToolSnapshotDoc = z.object({
  name: z.string().min(1),
  version: z.number().int().positive(),
  /** toolsetVersion() of this tool alone: changes when anything in its definition does. */
  hash: z.string().min(1),
  snapshot: z.record(z.string(), z.unknown()),
  recordedAt: Timestamp,
});
export type ToolSnapshotDoc = z.infer<typeof ToolSnapshotDoc>;

export const toolSnapshots = defineAggregate({
  name: 'catalog_tool_snapshots',
  schema: ToolSnapshotDoc,
  id: (doc) => `${doc.name}@${doc.version}`,
  indexes: [['name', 'version']],
});

export const CatalogHead = z.object({
  kind: z.enum(['profile', 'policy']),
  name: z.string().min(1),
  current: z.number().int().positive(),
  /** The highest version ever written; the next policy version is latest + 1. */
  latest: z.number().int().positive(),
  changedBy: z.string().min(1),
  changedAt: Timestamp,
});
export type CatalogHead = z.infer<typeof CatalogHead>;

export const catalogHeads = defineAggregate({
  name: 'catalog_heads',
  schema: CatalogHead,
  id: (doc) => headId(doc.kind, doc.name),
});

export function headId(kind: CatalogHead['kind'], name: string): string {
  return `${kind}:${name}`;
}
