import { generateKeyPairSync } from 'node:crypto';
import type { ApprovalDecidedV1 } from '@leash/contracts';
import {
  generateVerdictKeyPair,
  proveVerdict,
  verdictKeyId,
  verdictProofDigest,
  verdictPublicKey,
  verdictPublicKeyPem,
  verdictSigningKey,
  verifyVerdictProof,
  type ProvableVerdict,
} from './verdict-proof';

const HASH = 'ab'.repeat(32);
const verdict: ProvableVerdict = {
  id: 'verdict-1',
  tenantId: 'acme',
  taskId: 'task-1',
  data: {
    verdict: 'edit',
    approvalId: 'apr_1',
    actionHash: HASH,
    reviewer: 'fin@acme.example',
    arguments: { amountUsd: 10, orderId: 'o-1' },
    comment: 'only one charge',
  },
};
const at = new Date('2030-01-01T12:00:00Z');

describe('verdict proofs', () => {
  const pair = generateVerdictKeyPair();
  const key = verdictSigningKey(pair.privateKeyPem);

  it('verifies a verdict signed with the key whose public half is given', () => {
    const proof = proveVerdict(verdict, key, at);
    expect(proof).toMatchObject({ by: 'reviewer', keyId: pair.keyId, signedAt: at.toISOString() });
    expect(key.keyId).toBe(pair.keyId);
    expect(key.publicKey).toBe(pair.publicKey);
    expect(
      verifyVerdictProof({ ...verdict, data: { ...verdict.data, proof } }, proof, pair.publicKey),
    ).toBe(true);
  });

  it.each<[string, (v: ProvableVerdict) => ProvableVerdict]>([
    ['another approval', (v) => ({ ...v, data: { ...v.data, approvalId: 'apr_2' } })],
    ['another action hash', (v) => ({ ...v, data: { ...v.data, actionHash: 'cd'.repeat(32) } })],
    ['another reviewer', (v) => ({ ...v, data: { ...v.data, reviewer: 'mallory' } })],
    [
      'another decision',
      (v) => ({ ...v, data: { ...v.data, verdict: 'approve' } as ApprovalDecidedV1 }),
    ],
    [
      'other edited arguments',
      (v) => ({
        ...v,
        data: { ...v.data, arguments: { amountUsd: 10_000, orderId: 'o-1' } } as ApprovalDecidedV1,
      }),
    ],
    ['another comment', (v) => ({ ...v, data: { ...v.data, comment: 'all of it' } })],
    ['another verdict id', (v) => ({ ...v, id: 'verdict-2' })],
    ['another tenant', (v) => ({ ...v, tenantId: 'globex' })],
    ['another task', (v) => ({ ...v, taskId: 'task-2' })],
  ])('does not verify for %s', (_what, change) => {
    const proof = proveVerdict(verdict, key, at);
    expect(verifyVerdictProof(change(verdict), proof, pair.publicKey)).toBe(false);
  });

  it('does not verify with another key, a changed signing time, or another signer kind', () => {
    const proof = proveVerdict(verdict, key, at);
    const other = generateVerdictKeyPair();
    expect(verifyVerdictProof(verdict, proof, other.publicKey)).toBe(false);
    expect(verifyVerdictProof(verdict, { ...proof, keyId: other.keyId }, other.publicKey)).toBe(
      false,
    );
    expect(
      verifyVerdictProof(
        verdict,
        { ...proof, signedAt: '2030-01-01T12:00:01.000Z' },
        pair.publicKey,
      ),
    ).toBe(false);
    expect(
      verifyVerdictProof(verdict, { ...proof, by: 'front_end', frontEnd: 'inbox' }, pair.publicKey),
    ).toBe(false);
    expect(verifyVerdictProof(verdict, { ...proof, signature: 'AAAA' }, pair.publicKey)).toBe(
      false,
    );
  });

  it('signs for a front end, which names itself in the proof', () => {
    const inbox = verdictSigningKey(pair.privateKeyPem, { frontEnd: 'web-inbox' });
    const proof = proveVerdict(verdict, inbox, at);
    expect(proof).toMatchObject({ by: 'front_end', frontEnd: 'web-inbox' });
    expect(verifyVerdictProof(verdict, proof, pair.publicKey)).toBe(true);
    expect(verifyVerdictProof(verdict, { ...proof, frontEnd: 'other' }, pair.publicKey)).toBe(
      false,
    );
  });

  it('takes a public key as PEM, base64 DER or base64 raw, and names it the same', () => {
    const pem = verdictPublicKeyPem(pair.publicKey);
    expect(pem).toContain('-----BEGIN PUBLIC KEY-----');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    expect(verdictPublicKey(pem)).toBe(pair.publicKey);
    expect(verdictPublicKey(der)).toBe(pair.publicKey);
    expect(verdictPublicKey(` ${pair.publicKey}\n`)).toBe(pair.publicKey);
    expect(verdictKeyId(pem)).toBe(pair.keyId);
    expect(pair.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
  });

  it('refuses keys that are not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() =>
      verdictPublicKey(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString()),
    ).toThrow(/Ed25519/);
    expect(() => verdictPublicKey('not a key')).toThrow(/not an Ed25519 public key/);
    expect(() => verdictSigningKey(rsa.privateKey)).toThrow(/Ed25519 private key/);
  });

  it('gives two proofs of two verdicts two digests', () => {
    const a = proveVerdict(verdict, key, at);
    const b = proveVerdict({ ...verdict, id: 'verdict-2' }, key, at);
    expect(verdictProofDigest(a)).not.toBe(verdictProofDigest(b));
    expect(verdictProofDigest(a)).toBe(verdictProofDigest({ ...a }));
  });
});
