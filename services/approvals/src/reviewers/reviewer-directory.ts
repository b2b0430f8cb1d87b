import { verdictKeyId, verdictPublicKey } from '@leash/signing';
import type { Store, Transaction } from '@leash/store';
import {
  Reviewer as ReviewerSchema,
  reviewerKey,
  reviewers,
  type Reviewer,
  type ReviewerInput,
  type ReviewerKey,
} from './reviewer';

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

/** A reviewer to add, or to give more groups or a new key. */
export interface ReviewerAddition {
  readonly tenantId: string;
  readonly reviewer: string;
  readonly groups: readonly string[];
  readonly tools?: readonly string[];
  readonly displayName?: string;
  /** PEM or base64; see verdictPublicKey. */
  readonly publicKey?: string;
}

/** Thrown when a change to the directory is refused; the message says why and what to do. */
export class ReviewerDirectoryError extends Error {
  override readonly name = 'ReviewerDirectoryError';
}

/**
 * Keys as given, merged into what the store holds: a key the store has
 * keeps its record (a revoked key stays revoked whoever lists it again),
 * a new key is added, and no stored key is dropped.
 */
export function mergeKeys(
  stored: readonly ReviewerKey[],
  given: readonly ReviewerKey[],
  at: string,
): ReviewerKey[] {
  const merged = [...stored];
  for (const key of given) {
    if (merged.some((k) => k.publicKey === key.publicKey)) continue;
    merged.push({ ...key, addedAt: key.addedAt ?? at });
  }
  return merged;
}

/**
 * The reviewers of every tenant, in the store. Looked up on every verdict
 * (not cached) so a reviewer removed, or a key revoked, in one process is
 * refused by all from the next verdict on.
 */
export class ReviewerDirectory {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

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

  async list(tenantId?: string): Promise<Reviewer[]> {
    const found = await this.store
      .repository(reviewers)
      .find({ ...(tenantId !== undefined ? { where: { tenantId } } : {}), limit: 10_000 });
    return found.map((stored) => stored.doc);
  }

  /** Adds or replaces one reviewer; keys merge as in `seed`. */
  async put(reviewer: ReviewerInput): Promise<Reviewer> {
    return this.store.transaction(async (tx) => this.putIn(tx, reviewer));
  }

  /**
   * Adds or replaces each listed reviewer in one transaction; others are left as they are.
   * Keys are merged, never replaced: a key revoked in the store stays revoked.
   */
  async seed(list: readonly ReviewerInput[]): Promise<number> {
    if (list.length === 0) return 0;
    await this.store.transaction(async (tx) => {
      for (const reviewer of list) await this.putIn(tx, reviewer);
    });
    return list.length;
  }

  /**
   * Adds a reviewer, or adds groups and a key to one (and makes them active again).
   * Refuses a key that was revoked: a revoked key is never trusted again.
   */
  async add(addition: ReviewerAddition): Promise<{ reviewer: Reviewer; keyId?: string }> {
    const publicKey =
      addition.publicKey !== undefined ? verdictPublicKey(addition.publicKey) : undefined;
    return this.store.transaction(async (tx) => {
      const repository = tx.repository(reviewers);
      const stored = await repository.get(reviewerKey(addition.tenantId, addition.reviewer));
      const keys = [...(stored?.doc.keys ?? [])];
      if (publicKey !== undefined) {
        const known = keys.find((k) => k.publicKey === publicKey);
        if (known?.revokedAt !== undefined) {
          throw new ReviewerDirectoryError(
            `key ${verdictKeyId(publicKey)} of ${addition.reviewer} was revoked at ${known.revokedAt} ` +
              'and is never trusted again; make a new one with leash reviewers keygen',
          );
        }
        if (!known) keys.push({ publicKey, addedAt: this.at() });
      }
      const doc = ReviewerSchema.parse({
        ...stored?.doc,
        tenantId: addition.tenantId,
        reviewer: addition.reviewer,
        groups: [...new Set([...(stored?.doc.groups ?? []), ...addition.groups])],
        ...(addition.tools !== undefined ? { tools: [...addition.tools] } : {}),
        ...(addition.displayName !== undefined ? { displayName: addition.displayName } : {}),
        active: true,
        keys,
      });
      const saved = stored
        ? await repository.update(doc, stored.version)
        : await repository.insert(doc);
      return {
        reviewer: saved.doc,
        ...(publicKey !== undefined ? { keyId: verdictKeyId(publicKey) } : {}),
      };
    });
  }

  /**
   * A reviewer who leaves: kept for the audit, inactive, every key revoked.
   * Undefined when there is no such reviewer.
   */
  async remove(tenantId: string, reviewer: string): Promise<Reviewer | undefined> {
    return this.store.transaction(async (tx) => {
      const repository = tx.repository(reviewers);
      const stored = await repository.get(reviewerKey(tenantId, reviewer));
      if (!stored) return undefined;
      const at = this.at();
      const keys = stored.doc.keys.map((k) => (k.revokedAt ? k : { ...k, revokedAt: at }));
      return (await repository.update({ ...stored.doc, active: false, keys }, stored.version)).doc;
    });
  }

  /**
   * Revokes one key of a reviewer (by id), or every key they have when no id is given.
   * Resolves with the ids revoked; throws when there is no such reviewer or key.
   */
  async revokeKey(tenantId: string, reviewer: string, keyId?: string): Promise<string[]> {
    return this.store.transaction(async (tx) => {
      const repository = tx.repository(reviewers);
      const stored = await repository.get(reviewerKey(tenantId, reviewer));
      if (!stored) {
        throw new ReviewerDirectoryError(`no reviewer ${reviewer} in tenant ${tenantId}`);
      }
      const at = this.at();
      const revoked: string[] = [];
      const keys = stored.doc.keys.map((k) => {
        const id = verdictKeyId(k.publicKey);
        if (k.revokedAt !== undefined || (keyId !== undefined && id !== keyId)) return k;
        revoked.push(id);
        return { ...k, revokedAt: at };
      });
      if (revoked.length === 0) {
        const ids = stored.doc.keys
          .filter((k) => k.revokedAt === undefined)
          .map((k) => verdictKeyId(k.publicKey));
        throw new ReviewerDirectoryError(
          keyId !== undefined
            ? `${reviewer} has no active key ${keyId} (active keys: ${ids.join(', ') || 'none'})`
            : `${reviewer} has no active key to revoke`,
        );
      }
      await repository.update({ ...stored.doc, keys }, stored.version);
      return revoked;
    });
  }

  private async putIn(tx: Transaction, input: ReviewerInput): Promise<Reviewer> {
    const repository = tx.repository(reviewers);
    const given = ReviewerSchema.parse(input);
    const stored = await repository.get(reviewerKey(given.tenantId, given.reviewer));
    const doc = { ...given, keys: mergeKeys(stored?.doc.keys ?? [], given.keys, this.at()) };
    return (await repository.upsert(doc)).doc;
  }

  private at(): string {
    return new Date(this.now()).toISOString();
  }
}
