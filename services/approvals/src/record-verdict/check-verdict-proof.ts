import type { Envelope, VerdictProvenBy } from '@leash/contracts';
import { verdictKeyId, verifyVerdictProof } from '@leash/signing';
import type { Reviewer } from '../reviewers/reviewer';
import type { TrustedFrontEnd } from '../reviewers/trusted-front-end';

export type ProofCheck =
  | { readonly proven: true; readonly provenBy: VerdictProvenBy }
  | {
      readonly proven: false;
      readonly refusal: 'unproven_reviewer' | 'bad_proof';
      readonly reason: string;
    };

/**
 * Whether the verdict proves its reviewer sent it: signed by one of the
 * reviewer's unrevoked keys in the directory entry given, or by a trusted
 * front end allowed for the tenant. Pure, so specs state each rule; the
 * entry is read from the store at verdict time, so a revocation anywhere
 * holds from the next verdict on.
 */
export function checkVerdictProof(
  event: Envelope<'leash.approvals.decided.v1'>,
  entry: Reviewer | undefined,
  frontEnds: readonly TrustedFrontEnd[],
): ProofCheck {
  const { proof, reviewer } = event.data;
  const who = `${reviewer} (tenant ${event.tenantId ?? '(none)'})`;
  if (!proof) {
    return {
      proven: false,
      refusal: 'unproven_reviewer',
      reason: `the verdict carries no proof that ${who} sent it: it must be signed with the reviewer's key or by a trusted front end`,
    };
  }
  const bad = (reason: string): ProofCheck => ({ proven: false, refusal: 'bad_proof', reason });
  if (proof.by === 'front_end') {
    const frontEnd = frontEnds.find((f) => f.name === proof.frontEnd);
    if (!frontEnd) {
      return bad(
        `the verdict is vouched for by ${proof.frontEnd ?? '(unnamed)'}, not a trusted front end`,
      );
    }
    if (frontEnd.tenants !== undefined && !frontEnd.tenants.includes(event.tenantId ?? '')) {
      return bad(
        `front end ${frontEnd.name} is not trusted for tenant ${event.tenantId ?? '(none)'}`,
      );
    }
    if (!verifyVerdictProof(event, proof, frontEnd.publicKey)) {
      return bad(
        `the signature of front end ${frontEnd.name} (key ${proof.keyId}) does not verify over this verdict`,
      );
    }
    return {
      proven: true,
      provenBy: { by: 'front_end', keyId: proof.keyId, frontEnd: frontEnd.name },
    };
  }
  const key = entry?.keys.find((k) => verdictKeyId(k.publicKey) === proof.keyId);
  if (!entry || !key) {
    return bad(`${who} has no key ${proof.keyId} in the reviewer directory`);
  }
  if (key.revokedAt !== undefined) {
    return bad(`key ${proof.keyId} of ${who} was revoked at ${key.revokedAt}`);
  }
  if (!verifyVerdictProof(event, proof, key.publicKey)) {
    return bad(`the signature by key ${proof.keyId} of ${who} does not verify over this verdict`);
  }
  return { proven: true, provenBy: { by: 'reviewer', keyId: proof.keyId } };
}
