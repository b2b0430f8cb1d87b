import { z } from 'zod';
import { defineAggregate } from '@leash/store';

/*
 * Reviewers: people (or their processes) who may answer approval requests,
 * per tenant. Never rename the aggregate: it names a table and a collection.
 */

const Name = z.string().trim().min(1).max(200);

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
