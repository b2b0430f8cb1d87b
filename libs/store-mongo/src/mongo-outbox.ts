import type { mongo } from 'mongoose';
import type { AnyEnvelope, TopicName } from '@leash/contracts';
import { prepareOutboxRecord, type EnqueueOptions, type OutboxEntry } from '@leash/store';
import { isDuplicateKey } from './mongo-errors';

/*
 * The inbox, the outbox and the relay lease on MongoDB.
 *
 * Inbox: a claim is an upsert with $setOnInsert whose result says whether it
 * was new, never a duplicate-key error (that would abort the transaction).
 * Claims expire after the retention through a TTL index.
 *
 * Outbox: entries are ordered per partition key only. Each (topic, key) has
 * a counter document; an enqueue increments it in the transaction, so two
 * writers of one key conflict and one runs again, while writers of different
 * keys never meet. pending() returns, per key, the unsent entries from the
 * key's lowest sequence number on, without gaps.
 *
 * Lease: one document, taken when it is free, expired or already ours, with
 * the server's clock ($$NOW), so processes with skewed clocks agree.
 */

export const INBOX = 'leash_inbox';
export const OUTBOX = 'leash_outbox';
export const OUTBOX_KEYS = 'leash_outbox_keys';
export const LEASES = 'leash_leases';
const RELAY_LEASE = 'outbox-relay';

export interface InboxClaim {
  readonly _id: string;
  readonly at: Date;
}

export interface OutboxDocument {
  readonly _id: string;
  /** Topic and key: what the sequence counts in. */
  readonly tk: string;
  readonly seq: number;
  readonly topic: string;
  readonly key: string;
  readonly eventId: string;
  readonly envelope: string;
  readonly headers: string;
  readonly enqueuedAt: Date;
  readonly attempts: number;
  readonly lastError?: string;
}

export interface KeyCounter {
  readonly _id: string;
  readonly seq: number;
}

export interface LeaseDocument {
  readonly _id: string;
  readonly owner: string;
  readonly expiresAt: Date;
}

export interface OutboxCollections {
  readonly inbox: mongo.Collection<InboxClaim>;
  readonly outbox: mongo.Collection<OutboxDocument>;
  readonly keys: mongo.Collection<KeyCounter>;
  readonly leases: mongo.Collection<LeaseDocument>;
}

/** Indexes of the inbox and outbox collections; `inboxRetentionMs` null keeps claims forever. */
export async function ensureOutboxIndexes(
  collections: OutboxCollections,
  inboxRetentionMs: number | null,
): Promise<void> {
  if (inboxRetentionMs !== null) {
    await collections.inbox.createIndex(
      { at: 1 },
      { name: 'leash_inbox_ttl', expireAfterSeconds: Math.ceil(inboxRetentionMs / 1000) },
    );
  }
  await collections.outbox.createIndex(
    { tk: 1, seq: 1 },
    { name: 'leash_outbox_key_seq', unique: true },
  );
  await collections.outbox.createIndex({ enqueuedAt: 1, _id: 1 }, { name: 'leash_outbox_age' });
}

function tkOf(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}

export async function claim(
  collections: OutboxCollections,
  session: mongo.ClientSession,
  consumer: string,
  eventId: string,
): Promise<boolean> {
  const result = await collections.inbox.updateOne(
    { _id: `${consumer}\u0000${eventId}` },
    { $setOnInsert: { at: new Date() } },
    { session, upsert: true },
  );
  return result.upsertedCount === 1;
}

export async function enqueue(
  collections: OutboxCollections,
  session: mongo.ClientSession,
  topic: TopicName,
  envelope: AnyEnvelope,
  options?: EnqueueOptions,
): Promise<void> {
  const record = prepareOutboxRecord(topic, envelope, options);
  const tk = tkOf(record.topic, record.key);
  const counter = await collections.keys.findOneAndUpdate(
    { _id: tk },
    { $inc: { seq: 1 } },
    { session, upsert: true, returnDocument: 'after' },
  );
  const seq = counter?.seq ?? 1;
  await collections.outbox.insertOne(
    {
      _id: `${tk}\u0000${String(seq).padStart(12, '0')}`,
      tk,
      seq,
      topic: record.topic,
      key: record.key,
      eventId: record.eventId,
      envelope: record.envelope,
      headers: record.headers,
      enqueuedAt: new Date(),
      attempts: 0,
    },
    { session },
  );
}

function entryOf(doc: OutboxDocument): OutboxEntry {
  return {
    id: doc._id,
    topic: doc.topic as TopicName,
    key: doc.key,
    envelope: JSON.parse(doc.envelope) as OutboxEntry['envelope'],
    headers: JSON.parse(doc.headers) as Record<string, string>,
    enqueuedAt: doc.enqueuedAt.toISOString(),
    attempts: doc.attempts,
    ...(doc.lastError !== undefined ? { lastError: doc.lastError } : {}),
  };
}

/**
 * Up to `limit` unsent entries: the oldest by enqueue time, then, per key,
 * only the run that starts at the key's lowest unsent sequence number. A key
 * whose first entry is not among the oldest (clocks of two writers disagree)
 * is read from its start instead, so no key is ever stuck behind a gap.
 */
export async function pending(
  collections: OutboxCollections,
  limit: number,
): Promise<OutboxEntry[]> {
  const candidates = await collections.outbox
    .find({}, { sort: { enqueuedAt: 1, _id: 1 }, limit })
    .toArray();
  const byKey = new Map<string, OutboxDocument[]>();
  for (const doc of candidates) byKey.set(doc.tk, [...(byKey.get(doc.tk) ?? []), doc]);
  const starts = new Map<string, number>();
  const lowest = await collections.outbox
    .aggregate<{ _id: string; min: number }>([
      { $match: { tk: { $in: [...byKey.keys()] } } },
      { $group: { _id: '$tk', min: { $min: '$seq' } } },
    ])
    .toArray();
  for (const { _id, min } of lowest) starts.set(_id, min);
  const chosen: OutboxDocument[] = [];
  for (const [tk, docs] of byKey) {
    let run = docs.sort((a, b) => a.seq - b.seq);
    const start = starts.get(tk) ?? run[0]!.seq;
    if (run[0]!.seq !== start) {
      run = await collections.outbox
        .find({ tk }, { sort: { seq: 1 }, limit: docs.length })
        .toArray();
    }
    for (const [i, doc] of run.entries()) {
      if (doc.seq !== start + i) break;
      chosen.push(doc);
    }
  }
  return chosen
    .sort((a, b) => a.enqueuedAt.getTime() - b.enqueuedAt.getTime() || a.seq - b.seq)
    .slice(0, limit)
    .map(entryOf);
}

export async function markSent(
  collections: OutboxCollections,
  ids: readonly string[],
): Promise<void> {
  if (ids.length > 0) await collections.outbox.deleteMany({ _id: { $in: [...ids] } });
}

export async function markFailed(
  collections: OutboxCollections,
  id: string,
  error: string,
): Promise<void> {
  await collections.outbox.updateOne(
    { _id: id },
    { $inc: { attempts: 1 }, $set: { lastError: error.slice(0, 2_000) } },
  );
}

export async function acquireLease(
  collections: OutboxCollections,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  try {
    await collections.leases.updateOne(
      { _id: RELAY_LEASE, $or: [{ owner }, { $expr: { $lte: ['$expiresAt', '$$NOW'] } }] },
      [{ $set: { owner, expiresAt: { $add: ['$$NOW', ttlMs] } } }],
      { upsert: true },
    );
    return true;
  } catch (error) {
    // The lease exists and is another's: the upsert met its id.
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

export async function releaseLease(collections: OutboxCollections, owner: string): Promise<void> {
  await collections.leases.deleteOne({ _id: RELAY_LEASE, owner });
}
