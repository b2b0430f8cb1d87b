import { sign, type KeyObject } from 'node:crypto';
import type { Signature } from '@leash/contracts';
import { canonicalHash } from './canonical';
import { importPrivateKey, type GateSigningKey, type SigningGate } from './gate-keys';
import { signingGateOf } from './signed-fields';

/**
 * Signs what one gate decided, with that gate's Ed25519 private key, over
 * the canonical hash of the signed fields and the expiry. The signature
 * names the key id, never the key. It signs only its own gate's kinds of
 * fields: the policy gate cannot issue a grant, whatever calls it.
 */
export class GateSigner {
  private readonly privateKey: KeyObject;
  readonly keyId: string;

  constructor(
    readonly gate: SigningGate,
    key: GateSigningKey,
  ) {
    this.privateKey = importPrivateKey(key);
    this.keyId = key.id;
  }

  sign(fields: Record<string, unknown>, expiresAt: Date): Signature {
    const owner = signingGateOf(fields);
    if (owner !== this.gate) {
      throw new Error(
        `the ${this.gate} gate cannot sign ${String(fields.kind)}: the ${owner} gate does`,
      );
    }
    const hash = canonicalHash({ ...fields, expiresAt: expiresAt.toISOString() });
    return {
      hash,
      signature: sign(null, Buffer.from(hash), this.privateKey).toString('base64'),
      keyId: this.keyId,
      expiresAt: expiresAt.toISOString(),
    };
  }
}
