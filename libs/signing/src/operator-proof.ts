import { sign, verify, type KeyObject } from 'node:crypto';
import type { OperatorProof } from '@leash/contracts';
import { canonicalJson } from './canonical';
import {
  importPrivateKey,
  importPublicKey,
  type GatePublicKey,
  type GateSigningKey,
} from './gate-keys';

/*
 * Proof that an operator made a release or changed which release takes an
 * agent's tasks. Release events ride the control topic, which every service
 * may write (for its acknowledgements); the operators' private key is held
 * only where they run the CLI, so no service can publish a release, or
 * promote one, for them. Keys have the gates' forms (`id:<base64 DER>`).
 */

/** An event an operator signs: its type and its data (a `proof` in it is not signed). */
export interface OperatorSigned {
  readonly type: string;
  readonly data: { readonly proof?: OperatorProof } & Record<string, unknown>;
}

const PURPOSE = 'leash.operator.v1';

/** Signs an operator's event: the proof to put in its data. */
export function proveOperatorEvent(
  event: OperatorSigned,
  key: GateSigningKey,
  signedAt: Date = new Date(),
): OperatorProof {
  const unsigned = { keyId: key.id, signedAt: signedAt.toISOString() };
  const signature = sign(null, payload(event, unsigned), importPrivateKey(key));
  return { ...unsigned, signature: signature.toString('base64') };
}

export type OperatorVerification =
  | { readonly ok: true; readonly keyId: string }
  /** `reason` completes "refused: ...". */
  | { readonly ok: false; readonly reason: string };

interface HeldKey {
  readonly key: KeyObject;
  readonly retiredAt?: number;
}

/**
 * Checks operators' proofs with their public keys only. A retired key still
 * verifies what it signed before it was retired: a release is history that
 * every new store replays, so a rotation must not erase it. A key that may
 * have leaked is removed, not retired: then nothing it signed verifies.
 */
export class OperatorVerifier {
  private readonly keys: ReadonlyMap<string, HeldKey>;

  constructor(keys: readonly GatePublicKey[]) {
    const held = new Map<string, HeldKey>();
    for (const entry of keys) {
      if (held.has(entry.id)) throw new Error(`operator key id "${entry.id}" appears twice`);
      const retiredAt = entry.retiredAt === undefined ? undefined : Date.parse(entry.retiredAt);
      if (retiredAt !== undefined && Number.isNaN(retiredAt)) {
        throw new Error(`operator key "${entry.id}" has a retiredAt that is not a time`);
      }
      held.set(entry.id, {
        key: importPublicKey(entry),
        ...(retiredAt !== undefined ? { retiredAt } : {}),
      });
    }
    this.keys = held;
  }

  /** The ids of the keys held, for a start-up line. */
  get keyIds(): readonly string[] {
    return [...this.keys.keys()];
  }

  verify(event: OperatorSigned): OperatorVerification {
    const proof = event.data.proof;
    if (!proof) return { ok: false, reason: 'it carries no operator signature' };
    const held = this.keys.get(proof.keyId);
    if (!held) {
      return {
        ok: false,
        reason: `it is signed with key "${proof.keyId}", which is no operator key this service holds`,
      };
    }
    const signedAt = Date.parse(proof.signedAt);
    if (held.retiredAt !== undefined && !(signedAt < held.retiredAt)) {
      return {
        ok: false,
        reason: `it is signed with operator key "${proof.keyId}" at ${proof.signedAt}, after the key was retired at ${new Date(held.retiredAt).toISOString()}`,
      };
    }
    let valid: boolean;
    try {
      valid = verify(null, payload(event, proof), held.key, Buffer.from(proof.signature, 'base64'));
    } catch {
      valid = false;
    }
    return valid
      ? { ok: true, keyId: proof.keyId }
      : {
          ok: false,
          reason: `its signature is not operator key "${proof.keyId}"'s signature of this event (a signed field was changed, or it was never signed with that key)`,
        };
  }
}

function payload(event: OperatorSigned, signer: Pick<OperatorProof, 'keyId' | 'signedAt'>): Buffer {
  const { proof: _unsigned, ...data } = event.data;
  return Buffer.from(
    canonicalJson({
      purpose: PURPOSE,
      type: event.type,
      signer: { keyId: signer.keyId, signedAt: signer.signedAt },
      data,
    }),
  );
}
