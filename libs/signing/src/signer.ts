import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Signature } from '@leash/contracts';
import { canonicalHash } from './canonical';

/**
 * Signs what a gate decided, with HMAC-SHA256 over the canonical hash of the
 * signed fields. Keys come from config and never travel on the bus: the
 * signature names only the key id. Several keys may be held at once so a key
 * can be rotated without refusing decisions signed just before.
 */
export interface SigningKey {
  readonly id: string;
  readonly secret: string;
}

export type VerifyFailure = 'hash_mismatch' | 'unknown_key' | 'bad_signature' | 'expired';

export type Verification = { ok: true } | { ok: false; failure: VerifyFailure };

export class Signer {
  private readonly keys: ReadonlyMap<string, Buffer>;

  /** The first key signs; all keys verify. */
  constructor(
    keys: readonly SigningKey[],
    private readonly now: () => number = Date.now,
  ) {
    if (keys.length === 0) throw new Error('a signer needs at least one key');
    for (const key of keys) {
      if (Buffer.byteLength(key.secret) < 32) {
        throw new Error(`signing key "${key.id}" is shorter than 32 bytes`);
      }
    }
    this.keys = new Map(keys.map((k) => [k.id, Buffer.from(k.secret)]));
    this.signingKeyId = keys[0]!.id;
  }

  private readonly signingKeyId: string;

  sign(fields: Record<string, unknown>, expiresAt: Date): Signature {
    const hash = canonicalHash({ ...fields, expiresAt: expiresAt.toISOString() });
    return {
      hash,
      signature: this.mac(this.signingKeyId, hash),
      keyId: this.signingKeyId,
      expiresAt: expiresAt.toISOString(),
    };
  }

  /** Checks that `signature` covers exactly `fields`, with a known key, and has not expired. */
  verify(fields: Record<string, unknown>, signature: Signature): Verification {
    const hash = canonicalHash({ ...fields, expiresAt: signature.expiresAt });
    if (hash !== signature.hash) return { ok: false, failure: 'hash_mismatch' };
    if (!this.keys.has(signature.keyId)) return { ok: false, failure: 'unknown_key' };
    const expected = Buffer.from(this.mac(signature.keyId, hash), 'hex');
    const given = Buffer.from(signature.signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, failure: 'bad_signature' };
    }
    if (Date.parse(signature.expiresAt) <= this.now()) return { ok: false, failure: 'expired' };
    return { ok: true };
  }

  private mac(keyId: string, hash: string): string {
    return createHmac('sha256', this.keys.get(keyId)!).update(hash).digest('hex');
  }
}
