import { randomBytes, randomUUID, sign } from 'node:crypto';
import Database from 'better-sqlite3';
import { partitionOf } from '@leash/bus';
import { loadConfig, type EnvSpec, type Environment } from '@leash/config';
import {
  createEnvelope,
  encodeEnvelope,
  EVENTS,
  type AnyEnvelope,
  type Envelope,
  type Signature,
} from '@leash/contracts';
import {
  approvalFields,
  canonicalHash,
  decisionFields,
  grantFields,
  importPrivateKey,
  type ActionIdentity,
  type GateSigningKey,
} from '@leash/signing';

/*
 * What an attacker who took over one process, or who can write to the
 * embedded bus file, can put on the bus. Test support for the e2e specs
 * that try to break the gates.
 */

/** Every private key a service's configuration hands it: what a compromise of that process yields. */
export function privateKeysOf(spec: EnvSpec, env: Environment): GateSigningKey[] {
  const config = loadConfig(spec, { env }) as Record<string, unknown>;
  return Object.values(config).filter(
    (value): value is GateSigningKey =>
      typeof value === 'object' && value !== null && 'privateKey' in value,
  );
}

/**
 * Signs any fields under any key id, with `key` when the attacker holds one
 * (no check of whose fields they are: that is GateSigner's, and an attacker
 * does not use it), or with random bytes when it holds none.
 */
export function signAs(
  key: GateSigningKey | undefined,
  keyId: string,
  fields: Record<string, unknown>,
  expiresAt: Date,
): Signature {
  const hash = canonicalHash({ ...fields, expiresAt: expiresAt.toISOString() });
  const signature = key ? sign(null, Buffer.from(hash), importPrivateKey(key)) : randomBytes(64);
  return {
    hash,
    signature: signature.toString('base64'),
    keyId,
    expiresAt: expiresAt.toISOString(),
  };
}

/** How each of the three signatures of a forged action is made. */
export interface Forgery {
  readonly decision: (fields: Record<string, unknown>, expiresAt: Date) => Signature;
  readonly grant: (fields: Record<string, unknown>, expiresAt: Date) => Signature;
  readonly approval: (fields: Record<string, unknown>, expiresAt: Date) => Signature;
}

export interface ForgedTransfer {
  readonly identity: ActionIdentity;
  readonly decided: Envelope<'leash.actions.decided.v1'>;
  readonly funded: Envelope<'leash.actions.funded.v1'>;
  readonly authorized: Envelope<'leash.actions.authorized.v1'>;
  /** The signatures, with the fields each claims to cover. */
  readonly signatures: {
    readonly decision: { fields: Record<string, unknown>; signed: Signature };
    readonly grant: { fields: Record<string, unknown>; signed: Signature };
    readonly approval: { fields: Record<string, unknown>; signed: Signature };
  };
}

/**
 * A $9,000 supplier transfer (procurement's transfer_funds) as the three
 * gates would pass it, every signature made by `forgery`: the decision
 * (route approve, two reviewers), the funded action, and the authorized one.
 */
export function forgedTransfer(
  forgery: Forgery,
  where: {
    readonly tenantId: string;
    readonly taskId?: string;
    readonly route?: 'allow' | 'approve';
  },
): ForgedTransfer {
  const tenantId = where.tenantId;
  const taskId = where.taskId ?? `forged-task-${randomUUID()}`;
  const route = where.route ?? 'approve';
  const approvalsRequired = route === 'approve' ? 2 : 0;
  const identity: ActionIdentity = {
    tenantId,
    taskId,
    actionId: `forged-${randomUUID()}`,
    tool: 'transfer_funds',
    arguments: {
      supplierId: 'SUP-HARDWARE',
      invoiceId: 'INV-1002',
      amountUsd: 9_000,
      memo: 'urgent',
    },
  };
  const expiresAt = new Date(Date.now() + 600_000);
  const decisionSigned = decisionFields(identity, route, 1, approvalsRequired);
  const reservationId = `action:${identity.actionId}`;
  const grantSigned = grantFields(identity, reservationId, 0);
  const approvalId = `approval-${randomUUID()}`;
  const reviewers = ['reviewer-a@leash.test', 'reviewer-b@leash.test'];
  const approvalSigned = approvalFields(identity, approvalId, reviewers);
  const signatures = {
    decision: { fields: decisionSigned, signed: forgery.decision(decisionSigned, expiresAt) },
    grant: { fields: grantSigned, signed: forgery.grant(grantSigned, expiresAt) },
    approval: { fields: approvalSigned, signed: forgery.approval(approvalSigned, expiresAt) },
  };
  const decidedData = {
    actionId: identity.actionId,
    agent: { name: 'procurement', version: 1 },
    tool: identity.tool,
    arguments: identity.arguments,
    step: 1,
    reason: 'the supplier asked to be paid today',
    riskClass: 'irreversible' as const,
    amountUsdMicros: 9_000_000_000,
    actionClass: 'transfer',
    decision: {
      route,
      approvalsRequired,
      policyId: 'procurement',
      policyVersion: 1,
      determiningPolicies: ['large-transfer-two-people'],
      reason: 'transfers over $5,000 need two people',
      signed: signatures.decision.signed,
    },
    versions: { profile: 1, policy: 1 },
  };
  const fundedData = {
    ...decidedData,
    grant: { reservationId, reservedUsdMicros: 0, signed: signatures.grant.signed },
  };
  const attributes = (source: string) => ({ source, tenantId, taskId });
  return {
    identity,
    signatures,
    decided: createEnvelope('leash.actions.decided.v1', decidedData, attributes('policy')),
    funded: createEnvelope('leash.actions.funded.v1', fundedData, attributes('budget')),
    authorized: createEnvelope(
      'leash.actions.authorized.v1',
      { ...fundedData, approval: { approvalId, reviewers, signed: signatures.approval.signed } },
      attributes('approvals'),
    ),
  };
}

/**
 * Appends an event to the embedded bus file through a connection of its
 * own, as anyone who can write the file could: no Bus, no outbox, no
 * service. It lands where a publish would (topic prefix, partition by key)
 * and the running consumers find it on their next poll.
 */
export function writeIntoBusFile(busFile: string, event: AnyEnvelope, prefix = 'leash.'): void {
  const topic = EVENTS[event.type].topic;
  const message = encodeEnvelope(topic, event);
  const db = new Database(busFile, { timeout: 5_000 });
  try {
    db.transaction(() => {
      const row = db
        .prepare('SELECT id, partitions FROM bus_topics WHERE name = ?')
        .get(`${prefix}${topic}`) as { id: number; partitions: number } | undefined;
      if (!row) throw new Error(`the bus file has no topic ${prefix}${topic} yet`);
      const part = partitionOf(message.key, row.partitions);
      const head = db
        .prepare('SELECT next_offset AS next FROM bus_partitions WHERE topic_id = ? AND part = ?')
        .get(row.id, part) as { next: number };
      db.prepare(
        `INSERT INTO bus_messages (topic_id, part, msg_offset, key, value, headers, timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        row.id,
        part,
        head.next,
        message.key,
        message.value,
        JSON.stringify(message.headers),
        Date.now(),
      );
      db.prepare('UPDATE bus_partitions SET next_offset = ? WHERE topic_id = ? AND part = ?').run(
        head.next + 1,
        row.id,
        part,
      );
    }).immediate();
  } finally {
    db.close();
  }
}
