import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { ApprovalDecidedV1, VerdictProof } from '@leash/contracts';
import { canonicalJson } from './canonical';

/*
 * Proof of who sent a reviewer's verdict. Unlike the gates' signatures, these
 * keys belong to people (or to the front end that signs them in): the
 * approvals service holds only public keys, so neither it nor anyone who can
 * publish on approvals.decided can speak for a reviewer.
 */

/** What a proof covers besides itself: the verdict's event id, where it lives, and its data. */
export interface ProvableVerdict {
  /** The approvals.decided event id: a verdict id, once. */
  readonly id: string;
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly data: ApprovalDecidedV1;
}

/** A private key that signs verdicts, with the id of its public half. */
export interface VerdictSigningKey {
  readonly privateKey: KeyObject;
  /** Its public half, base64 of the raw key: what the reviewer directory holds. */
  readonly publicKey: string;
  readonly keyId: string;
  /** Set when a trusted front end signs for the reviewers it signed in. */
  readonly frontEnd?: string;
}

const PURPOSE = 'leash.approvals.verdict.v1';
const RAW_KEY_BYTES = 32;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw key follows it. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A new Ed25519 key pair: the private key as PKCS#8 PEM, the public key as one base64 line. */
export function generateVerdictKeyPair(): {
  privateKeyPem: string;
  publicKey: string;
  keyId: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawOf(publicKey);
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: raw,
    keyId: verdictKeyId(raw),
  };
}

/**
 * An Ed25519 public key as the directory keeps it: the 32 raw bytes, base64.
 * Takes a PEM (SPKI), base64 of the SPKI DER, or base64 of the raw key; throws
 * saying which forms it takes.
 */
export function verdictPublicKey(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey(trimmed);
    } catch (error) {
      throw new Error(`not a PEM public key: ${(error as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`an Ed25519 public key is needed, got ${key.asymmetricKeyType ?? 'unknown'}`);
    }
    return rawOf(key);
  }
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (bytes?.length === RAW_KEY_BYTES) return bytes.toString('base64');
  if (
    bytes?.length === SPKI_PREFIX.length + RAW_KEY_BYTES &&
    bytes.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)
  ) {
    return bytes.subarray(SPKI_PREFIX.length).toString('base64');
  }
  throw new Error(
    'not an Ed25519 public key: give a PEM (-----BEGIN PUBLIC KEY-----), or base64 of the 32-byte key or of its DER',
  );
}

/** `ed25519:` and 16 hex digits of the SHA-256 of the raw key: names a key without showing it. */
export function verdictKeyId(publicKey: string): string {
  const raw = Buffer.from(verdictPublicKey(publicKey), 'base64');
  return `ed25519:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}

/** The public key as PEM, for a `.pub` file. */
export function verdictPublicKeyPem(publicKey: string): string {
  return publicKeyObject(publicKey).export({ format: 'pem', type: 'spki' }).toString();
}

/** Reads a private key (PKCS#8 PEM, as keygen writes it); throws unless it is Ed25519. */
export function verdictSigningKey(
  privateKey: string | KeyObject,
  options: { readonly frontEnd?: string } = {},
): VerdictSigningKey {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new Error('a verdict signing key must be an Ed25519 private key');
  }
  const publicKey = rawOf(createPublicKey(key));
  return {
    privateKey: key,
    publicKey,
    keyId: verdictKeyId(publicKey),
    ...(options.frontEnd !== undefined ? { frontEnd: options.frontEnd } : {}),
  };
}

/** Signs a verdict: the proof to put in its data. */
export function proveVerdict(
  verdict: ProvableVerdict,
  key: VerdictSigningKey,
  signedAt: Date = new Date(),
): VerdictProof {
  const unsigned = {
    by: key.frontEnd !== undefined ? ('front_end' as const) : ('reviewer' as const),
    keyId: key.keyId,
    ...(key.frontEnd !== undefined ? { frontEnd: key.frontEnd } : {}),
    signedAt: signedAt.toISOString(),
  };
  const signature = sign(null, proofPayload(verdict, unsigned), key.privateKey);
  return { ...unsigned, signature: signature.toString('base64') };
}

/** True when `proof` is a signature of exactly this verdict by the holder of `publicKey`. */
export function verifyVerdictProof(
  verdict: ProvableVerdict,
  proof: VerdictProof,
  publicKey: string,
): boolean {
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    return false;
  }
  if (verdictKeyId(publicKey) !== proof.keyId) return false;
  const signature = Buffer.from(proof.signature, 'base64');
  try {
    return verify(null, proofPayload(verdict, proof), key, signature);
  } catch {
    return false;
  }
}

/** Names a proof for replay detection: a signature is presented once. */
export function verdictProofDigest(proof: VerdictProof): string {
  return createHash('sha256').update(Buffer.from(proof.signature, 'base64')).digest('hex');
}

function proofPayload(verdict: ProvableVerdict, proof: Omit<VerdictProof, 'signature'>): Buffer {
  const { proof: _ignored, ...data } = verdict.data;
  return Buffer.from(
    canonicalJson({
      purpose: PURPOSE,
      signer: {
        by: proof.by,
        keyId: proof.keyId,
        frontEnd: proof.frontEnd,
        signedAt: proof.signedAt,
      },
      verdictId: verdict.id,
      tenantId: verdict.tenantId,
      taskId: verdict.taskId,
      data,
    }),
  );
}

function publicKeyObject(publicKey: string): KeyObject {
  const raw = Buffer.from(verdictPublicKey(publicKey), 'base64');
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, raw]),
    format: 'der',
    type: 'spki',
  });
}

function rawOf(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - RAW_KEY_BYTES).toString('base64');
}
