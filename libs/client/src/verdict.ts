import type { KeyObject } from 'node:crypto';
import { createEnvelope, type ApprovalRequestedV1, type Envelope } from '@leash/contracts';
import { proveVerdict, verdictSigningKey, type VerdictSigningKey } from '@leash/signing';

/** What a reviewer answers. */
export type Verdict =
  | { readonly verdict: 'approve'; readonly comment?: string }
  /** The feedback reaches the planner as an observation. */
  | { readonly verdict: 'reject'; readonly feedback: string }
  /** The edited arguments are proposed again as a new action, and pass policy and budget again. */
  | {
      readonly verdict: 'edit';
      readonly arguments: Record<string, unknown>;
      readonly comment?: string;
    };

/** What a verdict must name: the request, the exact action it is about, and where it lives. */
export interface ApprovalRef {
  readonly approvalId: string;
  /** From the request; a verdict bound to any other hash is refused. */
  readonly actionHash: string;
  readonly tenantId: string;
  readonly taskId: string;
}

/** An approval request as a reviewer's process receives it. */
export type ApprovalRequest = ApprovalRequestedV1 &
  ApprovalRef & {
    /** The approvals.requested event's id. */
    readonly eventId: string;
  };

export function toApprovalRequest(
  event: Envelope<'leash.approvals.requested.v1'>,
): ApprovalRequest | undefined {
  // Requests are keyed by task and scoped to a tenant; one without either cannot be answered.
  if (!event.tenantId || !event.taskId) return undefined;
  return { ...event.data, tenantId: event.tenantId, taskId: event.taskId, eventId: event.id };
}

/**
 * What signs a verdict: the reviewer's Ed25519 private key (PKCS#8 PEM, as
 * `leash reviewers keygen` writes it, or a KeyObject), or a key made with
 * `verdictSigningKey(pem, { frontEnd })` for a trusted front end that vouches
 * for the reviewers it signs in. The approvals service refuses unsigned verdicts.
 */
export type VerdictKey = string | KeyObject | VerdictSigningKey;

/** Reads a verdict key once; throws unless it is an Ed25519 private key. */
export function toVerdictSigningKey(key: VerdictKey): VerdictSigningKey {
  if (typeof key === 'object' && 'privateKey' in key && 'keyId' in key) return key;
  return verdictSigningKey(key as string | KeyObject);
}

export interface VerdictOptions {
  /** The verdict's event id; the service ignores a second event with the same id. Default: random. */
  readonly id?: string;
  readonly source: string;
  /** Signs the verdict: proof of who sent it, bound to this event and this request. */
  readonly key: VerdictKey;
  /** When the proof says it was signed. Default now. */
  readonly signedAt?: Date;
}

/**
 * The approvals.decided event of a verdict, signed with the key given.
 * Throws EventValidationError on an invalid verdict.
 */
export function verdictEvent(
  ref: ApprovalRef,
  reviewer: string,
  verdict: Verdict,
  options: VerdictOptions,
): Envelope<'leash.approvals.decided.v1'> {
  const unsigned = unsignedVerdictEvent(ref, reviewer, verdict, options);
  const proof = proveVerdict(unsigned, toVerdictSigningKey(options.key), options.signedAt);
  return createEnvelope(
    'leash.approvals.decided.v1',
    { ...unsigned.data, proof },
    {
      source: unsigned.source,
      id: unsigned.id,
      time: unsigned.time,
      tenantId: ref.tenantId,
      taskId: ref.taskId,
    },
  );
}

function unsignedVerdictEvent(
  ref: ApprovalRef,
  reviewer: string,
  verdict: Verdict,
  options: Omit<VerdictOptions, 'key'>,
): Envelope<'leash.approvals.decided.v1'> {
  const common = { approvalId: ref.approvalId, actionHash: ref.actionHash, reviewer };
  const attributes = {
    source: options.source,
    tenantId: ref.tenantId,
    taskId: ref.taskId,
    ...(options.id !== undefined ? { id: options.id } : {}),
  };
  switch (verdict.verdict) {
    case 'approve':
      return createEnvelope(
        'leash.approvals.decided.v1',
        {
          ...common,
          verdict: 'approve',
          ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
        },
        attributes,
      );
    case 'reject':
      return createEnvelope(
        'leash.approvals.decided.v1',
        { ...common, verdict: 'reject', feedback: verdict.feedback },
        attributes,
      );
    case 'edit':
      return createEnvelope(
        'leash.approvals.decided.v1',
        {
          ...common,
          verdict: 'edit',
          arguments: verdict.arguments,
          ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
        },
        attributes,
      );
  }
}
