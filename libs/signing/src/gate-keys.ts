import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

/** The three gates that sign; each with its own Ed25519 key, which no other process holds. */
export const SIGNING_GATES = ['policy', 'budget', 'approvals'] as const;
export type SigningGate = (typeof SIGNING_GATES)[number];

/** Who holds a signing key: each gate, and the operators (who sign releases, see operator-proof). */
export const KEY_HOLDERS = [...SIGNING_GATES, 'operator'] as const;
export type KeyHolder = (typeof KEY_HOLDERS)[number];

/**
 * A gate's private key: an id (named in every signature it makes, never the
 * key) and the Ed25519 key as base64 PKCS#8 DER
 * (`openssl genpkey -algorithm ed25519 -outform DER | base64`).
 */
export interface GateSigningKey {
  readonly id: string;
  readonly privateKey: string;
}

/**
 * A gate's public key, as checkers hold it: base64 SPKI DER. `retiredAt`
 * (ISO 8601) ends it: from then on nothing signed with it verifies, whenever
 * it was signed, since a retired key may be a leaked one.
 */
export interface GatePublicKey {
  readonly id: string;
  readonly publicKey: string;
  readonly retiredAt?: string;
}

/** The public keys a checker holds, by the gate that signs with them. */
export type GatePublicKeys = Readonly<Partial<Record<SigningGate, readonly GatePublicKey[]>>>;

export function importPrivateKey(key: GateSigningKey): KeyObject {
  const imported = createPrivateKey({
    key: Buffer.from(key.privateKey, 'base64'),
    format: 'der',
    type: 'pkcs8',
  });
  if (imported.asymmetricKeyType !== 'ed25519') {
    throw new Error(`signing key "${key.id}" is not an Ed25519 key`);
  }
  return imported;
}

export function importPublicKey(key: GatePublicKey): KeyObject {
  const imported = createPublicKey({
    key: Buffer.from(key.publicKey, 'base64'),
    format: 'der',
    type: 'spki',
  });
  if (imported.asymmetricKeyType !== 'ed25519') {
    throw new Error(`public key "${key.id}" is not an Ed25519 key`);
  }
  return imported;
}

/** The public half of a private key, as checkers hold it. */
export function publicKeyOf(key: GateSigningKey): GatePublicKey {
  return {
    id: key.id,
    publicKey: createPublicKey(importPrivateKey(key))
      .export({ format: 'der', type: 'spki' })
      .toString('base64'),
  };
}

/** A fresh key pair for a gate (the embedded default's, tests', or an operator's rotation). */
export function generateGateKey(id: string): {
  signingKey: GateSigningKey;
  publicKey: GatePublicKey;
} {
  const pair = generateKeyPairSync('ed25519');
  return {
    signingKey: {
      id,
      privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    },
    publicKey: {
      id,
      publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    },
  };
}
