import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { utcIso } from '@leash/clock';
import { defineAggregate, type Store } from '@leash/store';

/*
 * Who is signed in to the inbox. Only hashes of the secrets are stored: an
 * invite token (handed out once by `leash reviewers invite`) and a session
 * id (the cookie). A copy of the store gives no one a way in. Never rename
 * an aggregate: it names a table and a collection.
 */

const Timestamp = z.iso.datetime({ offset: true });

export const InboxInvite = z.object({
  /** SHA-256 of the token, hex. */
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  tenantId: z.string().min(1),
  reviewer: z.string().min(1),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  usedAt: Timestamp.optional(),
});
export type InboxInvite = z.infer<typeof InboxInvite>;

export const inboxInvites = defineAggregate({
  name: 'approvals_inbox_invites',
  schema: InboxInvite,
  id: (doc) => doc.tokenHash,
});

export const InboxSession = z.object({
  /** SHA-256 of the session id, hex. */
  sessionHash: z.string().regex(/^[0-9a-f]{64}$/),
  reviewer: z.string().min(1),
  /** The tenants whose requests the session sees (the invite's, or the directory's for a proxy's identity). */
  tenants: z.array(z.string().min(1)),
  /** Sent back with every state-changing request (header x-csrf-token). */
  csrfToken: z.string().min(1),
  via: z.enum(['invite', 'header']),
  createdAt: Timestamp,
  expiresAt: Timestamp,
});
export type InboxSession = z.infer<typeof InboxSession>;

export const inboxSessions = defineAggregate({
  name: 'approvals_inbox_sessions',
  schema: InboxSession,
  id: (doc) => doc.sessionHash,
});

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Stores an invite's hash; returns the token, which exists nowhere else. */
export async function createInvite(
  store: Store,
  invite: { tenantId: string; reviewer: string; ttlMs: number; now?: number },
): Promise<{ token: string; expiresAt: string }> {
  const now = invite.now ?? Date.now();
  const token = newSecret();
  const expiresAt = utcIso(now + invite.ttlMs);
  await store.repository(inboxInvites).insert({
    tokenHash: secretHash(token),
    tenantId: invite.tenantId,
    reviewer: invite.reviewer,
    createdAt: utcIso(now),
    expiresAt,
  });
  return { token, expiresAt };
}

export type SignIn =
  | { readonly ok: true; readonly sessionId: string; readonly session: InboxSession }
  | { readonly ok: false; readonly reason: string };

/** Opens a session and returns its id (the cookie's value). */
export async function openSession(
  store: Store,
  who: { reviewer: string; tenants: readonly string[]; via: InboxSession['via'] },
  ttlMs: number,
  now: number,
): Promise<{ sessionId: string; session: InboxSession }> {
  const sessionId = newSecret();
  const session = InboxSession.parse({
    sessionHash: secretHash(sessionId),
    reviewer: who.reviewer,
    tenants: [...who.tenants],
    csrfToken: newSecret(),
    via: who.via,
    createdAt: utcIso(now),
    expiresAt: utcIso(now + ttlMs),
  });
  await store.repository(inboxSessions).insert(session);
  return { sessionId, session };
}

/** Uses an invite once: a second use, an unknown or an expired token is refused. */
export async function redeemInvite(
  store: Store,
  token: string,
  ttlMs: number,
  now: number = Date.now(),
): Promise<SignIn> {
  const used = await store.transaction(async (tx) => {
    const repository = tx.repository(inboxInvites);
    const stored = await repository.get(secretHash(token));
    if (!stored) return { ok: false as const, reason: 'this invite is not known' };
    if (stored.doc.usedAt !== undefined) {
      return { ok: false as const, reason: 'this invite was used already; ask for a new one' };
    }
    if (Date.parse(stored.doc.expiresAt) <= now) {
      return { ok: false as const, reason: 'this invite has expired; ask for a new one' };
    }
    await repository.update({ ...stored.doc, usedAt: utcIso(now) }, stored.version);
    return { ok: true as const, invite: stored.doc };
  });
  if (!used.ok) return used;
  const opened = await openSession(
    store,
    { reviewer: used.invite.reviewer, tenants: [used.invite.tenantId], via: 'invite' },
    ttlMs,
    now,
  );
  return { ok: true, ...opened };
}

/** The session of a cookie's value, while it lasts. */
export async function findSession(
  store: Store,
  sessionId: string,
  now: number = Date.now(),
): Promise<InboxSession | undefined> {
  const stored = await store.repository(inboxSessions).get(secretHash(sessionId));
  if (!stored || Date.parse(stored.doc.expiresAt) <= now) return undefined;
  return stored.doc;
}

export async function closeSession(store: Store, sessionId: string): Promise<void> {
  await store.repository(inboxSessions).delete(secretHash(sessionId));
}
