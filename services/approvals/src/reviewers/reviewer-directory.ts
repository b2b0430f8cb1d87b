import type { Store, Transaction } from '@leash/store';
import { reviewerKey, reviewers, type Reviewer, type ReviewerInput } from './reviewer';

/** Why a reviewer may not decide a request; recorded with the refused verdict. */
export type ReviewerRefusal =
  'unknown_reviewer' | 'inactive_reviewer' | 'not_in_group' | 'tool_not_allowed';

export type ReviewerCheck =
  | { readonly allowed: true; readonly reviewer: Reviewer }
  | { readonly allowed: false; readonly refusal: ReviewerRefusal; readonly reason: string };

export interface ReviewerQuestion {
  readonly tenantId: string;
  readonly reviewer: string;
  readonly group: string;
  readonly tool: string;
}

/** Decides whether a directory entry may answer for a group and a tool. Pure, so specs state each rule. */
export function checkReviewer(
  entry: Reviewer | undefined,
  question: ReviewerQuestion,
): ReviewerCheck {
  const who = `${question.reviewer} (tenant ${question.tenantId})`;
  if (!entry) {
    return {
      allowed: false,
      refusal: 'unknown_reviewer',
      reason: `${who} is not in the reviewer directory`,
    };
  }
  if (!entry.active) {
    return {
      allowed: false,
      refusal: 'inactive_reviewer',
      reason: `${who} is no longer an active reviewer`,
    };
  }
  if (!entry.groups.includes(question.group)) {
    return {
      allowed: false,
      refusal: 'not_in_group',
      reason: `${who} is not in reviewer group ${question.group} (groups: ${entry.groups.join(', ')})`,
    };
  }
  if (entry.tools !== undefined && !entry.tools.includes(question.tool)) {
    return {
      allowed: false,
      refusal: 'tool_not_allowed',
      reason: `${who} may not decide on ${question.tool} (tools: ${entry.tools.join(', ') || 'none'})`,
    };
  }
  return { allowed: true, reviewer: entry };
}

/**
 * The reviewers of every tenant, in the store. Looked up on every verdict
 * (not cached) so a reviewer removed in one process is refused by all.
 */
export class ReviewerDirectory {
  constructor(private readonly store: Store) {}

  /** Inside a verdict's transaction, so the check and the state change see one snapshot. */
  async check(tx: Transaction, question: ReviewerQuestion): Promise<ReviewerCheck> {
    const entry = await tx
      .repository(reviewers)
      .get(reviewerKey(question.tenantId, question.reviewer));
    return checkReviewer(entry?.doc, question);
  }

  async get(tenantId: string, reviewer: string): Promise<Reviewer | undefined> {
    return (await this.store.repository(reviewers).get(reviewerKey(tenantId, reviewer)))?.doc;
  }

  async list(tenantId: string): Promise<Reviewer[]> {
    const found = await this.store
      .repository(reviewers)
      .find({ where: { tenantId }, limit: 10_000 });
    return found.map((stored) => stored.doc);
  }

  /** Adds or replaces one reviewer. */
  async put(reviewer: ReviewerInput): Promise<Reviewer> {
    return (await this.store.repository(reviewers).upsert(reviewer)).doc;
  }

  /** Adds or replaces each listed reviewer in one transaction; others are left as they are. */
  async seed(list: readonly ReviewerInput[]): Promise<number> {
    if (list.length === 0) return 0;
    await this.store.transaction(async (tx) => {
      const repository = tx.repository(reviewers);
      for (const reviewer of list) await repository.upsert(reviewer);
    });
    return list.length;
  }
}
