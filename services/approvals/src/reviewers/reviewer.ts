import { z } from 'zod';
import { verdictPublicKey } from '@leash/signing';
import { defineAggregate } from '@leash/store';

/*
 * Reviewers: people (or their processes) who may answer approval requests,
 * per tenant. Never rename the aggregate: it names a table and a collection.
 */

const Name = z.string().trim().min(1).max(200);
const Timestamp = z.iso.datetime({ offset: true });

/** An Ed25519 public key: PEM or base64 in, the raw key as base64 kept. */
export const PublicKey = z.string().transform((value, ctx) => {
  try {
    return verdictPublicKey(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** A key a reviewer signs verdicts with; its id is derived from it (verdictKeyId). */
export const ReviewerKey = z.object({
  publicKey: PublicKey,
  addedAt: Timestamp.optional(),
  /** A revoked key proves nothing from then on, and is never taken back. */
  revokedAt: Timestamp.optional(),
});
export type ReviewerKey = z.infer<typeof ReviewerKey>;

export const Reviewer = z.object({
  tenantId: Name,
  /** The identity a verdict names in `reviewer`. */
  reviewer: Name,
  displayName: z.string().max(200).optional(),
  /** Reviewer groups this person answers for, e.g. `support-leads`, `finance`. */
  groups: z.array(Name).min(1),
  /** When present, the only tools this reviewer may decide on; absent means any tool. */
  tools: z.array(Name).optional(),
  /** A reviewer who left keeps the record (the audit names them) but decides nothing. */
  active: z.boolean().default(true),
  /**
   * Public keys whose signature proves a verdict came from this reviewer. None: the reviewer
   * can answer only through a trusted front end (the web inbox), which vouches for them.
   */
  keys: z.array(ReviewerKey).max(20).default([]),
});
export type Reviewer = z.infer<typeof Reviewer>;
export type ReviewerInput = z.input<typeof Reviewer>;

export const ReviewerList = z.array(Reviewer);

export const reviewers = defineAggregate({
  name: 'approvals_reviewers',
  schema: Reviewer,
  id: (doc) => reviewerKey(doc.tenantId, doc.reviewer),
  indexes: ['tenantId'],
});

export function reviewerKey(tenantId: string, reviewer: string): string {
  return JSON.stringify([tenantId, reviewer]);
}

/** Parses a reviewer list given as JSON (LEASH_REVIEWERS, the reviewers file); throws naming the problem. */
export function parseReviewers(json: string, where: string): Reviewer[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${where}: not JSON: ${(error as Error).message}`);
  }
  const parsed = ReviewerList.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${where}: not a list of reviewers: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
