import { verify, type KeyObject } from 'node:crypto';
import type { Signature } from '@leash/contracts';
import { canonicalHash } from './canonical';
import { SIGNING_GATES, importPublicKey, type GatePublicKeys, type SigningGate } from './gate-keys';
import { signingGateOf } from './signed-fields';

export type VerifyFailure =
  'hash_mismatch' | 'unknown_key' | 'wrong_gate' | 'retired_key' | 'bad_signature' | 'expired';

export type Verification =
  | { readonly ok: true }
  /** `reason` completes "the policy decision ...", for the audit and the planner. */
  | { readonly ok: false; readonly failure: VerifyFailure; readonly reason: string };

interface HeldKey {
  readonly gate: SigningGate;
  readonly key: KeyObject;
  readonly retiredAt?: number;
}

export interface GateVerifierOptions {
  /** Default Date.now. */
  readonly now?: () => number;
  /** Signatures remembered as verified, so a redelivered event costs no second Ed25519 check. Default 4096; 0 turns it off. */
  readonly cacheSize?: number;
}

/**
 * Checks a gate's signature with public keys only. A signature verifies
 * when it covers exactly these fields, names a key this checker holds for
 * the gate that signs this kind of fields (a budget key cannot sign a
 * policy decision, even one this checker knows), that key is not retired,
 * the Ed25519 check passes, and it has not expired.
 */
export class GateVerifier {
  private readonly keys: ReadonlyMap<string, HeldKey>;
  private readonly now: () => number;
  private readonly cacheSize: number;
  /** `keyId hash signature` of signatures that passed the Ed25519 check, oldest first. */
  private readonly verified = new Set<string>();

  constructor(keys: GatePublicKeys, options: GateVerifierOptions = {}) {
    const held = new Map<string, HeldKey>();
    for (const gate of SIGNING_GATES) {
      for (const entry of keys[gate] ?? []) {
        const other = held.get(entry.id);
        if (other) {
          throw new Error(
            `key id "${entry.id}" is held for both the ${other.gate} and the ${gate} gate: key ids must be distinct`,
          );
        }
        const retiredAt = entry.retiredAt === undefined ? undefined : Date.parse(entry.retiredAt);
        if (retiredAt !== undefined && Number.isNaN(retiredAt)) {
          throw new Error(`key "${entry.id}" has a retiredAt that is not a time`);
        }
        held.set(entry.id, {
          gate,
          key: importPublicKey(entry),
          ...(retiredAt !== undefined ? { retiredAt } : {}),
        });
      }
    }
    this.keys = held;
    this.now = options.now ?? Date.now;
    this.cacheSize = options.cacheSize ?? 4096;
  }

  verify(fields: Record<string, unknown>, signature: Signature): Verification {
    const gate = signingGateOf(fields);
    const hash = canonicalHash({ ...fields, expiresAt: signature.expiresAt });
    if (hash !== signature.hash) {
      return {
        ok: false,
        failure: 'hash_mismatch',
        reason: 'does not cover this action as it stands (a signed field was changed)',
      };
    }
    const held = this.keys.get(signature.keyId);
    if (!held) {
      return {
        ok: false,
        failure: 'unknown_key',
        reason: `names key "${signature.keyId}", which is no key of the ${gate} gate this service holds`,
      };
    }
    if (held.gate !== gate) {
      return {
        ok: false,
        failure: 'wrong_gate',
        reason: `is signed with key "${signature.keyId}" of the ${held.gate} gate; only the ${gate} gate signs it`,
      };
    }
    if (held.retiredAt !== undefined && held.retiredAt <= this.now()) {
      return {
        ok: false,
        failure: 'retired_key',
        reason: `is signed with key "${signature.keyId}" of the ${gate} gate, retired at ${new Date(held.retiredAt).toISOString()}`,
      };
    }
    if (!this.checkSignature(held.key, signature)) {
      return {
        ok: false,
        failure: 'bad_signature',
        reason: `is not a valid signature of the ${gate} gate`,
      };
    }
    if (Date.parse(signature.expiresAt) <= this.now()) {
      return { ok: false, failure: 'expired', reason: 'has expired' };
    }
    return { ok: true };
  }

  private checkSignature(key: KeyObject, signature: Signature): boolean {
    const cacheKey = `${signature.keyId} ${signature.hash} ${signature.signature}`;
    if (this.verified.has(cacheKey)) return true;
    let valid: boolean;
    try {
      valid = verify(
        null,
        Buffer.from(signature.hash),
        key,
        Buffer.from(signature.signature, 'base64'),
      );
    } catch {
      valid = false;
    }
    if (valid && this.cacheSize > 0) {
      if (this.verified.size >= this.cacheSize) {
        this.verified.delete(this.verified.values().next().value!);
      }
      this.verified.add(cacheKey);
    }
    return valid;
  }
}
