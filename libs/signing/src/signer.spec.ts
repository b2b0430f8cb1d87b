import { canonicalJson } from './canonical';
import { actionHash, decisionFields } from './signed-fields';
import { Signer } from './signer';

const key = { id: 'k1', secret: 'a-secret-of-at-least-thirty-two-bytes!' };
const action = {
  tenantId: 'acme',
  taskId: 't1',
  actionId: 'a1',
  tool: 'issue_refund',
  arguments: { amount: 50, order: 'o-1' },
};
const now = Date.parse('2026-01-01T00:00:00Z');
const later = new Date(now + 60_000);

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
    );
  });

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow(/non-finite/);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(/function/);
  });
});

describe('Signer', () => {
  const signer = new Signer([key], () => now);
  const fields = decisionFields(action, 'allow', 3, 0);

  it('verifies what it signed', () => {
    expect(signer.verify(fields, signer.sign(fields, later))).toEqual({ ok: true });
  });

  it('binds to the exact arguments, whatever their key order', () => {
    const reordered = { ...action, arguments: { order: 'o-1', amount: 50 } };
    expect(actionHash(reordered)).toBe(actionHash(action));
    const altered = { ...action, arguments: { amount: 5000, order: 'o-1' } };
    const signed = signer.sign(fields, later);
    expect(signer.verify(decisionFields(altered, 'allow', 3, 0), signed)).toEqual({
      ok: false,
      failure: 'hash_mismatch',
    });
  });

  it('refuses a changed route, policy version or expiry', () => {
    const signed = signer.sign(fields, later);
    expect(signer.verify(decisionFields(action, 'approve', 3, 0), signed).ok).toBe(false);
    expect(signer.verify(decisionFields(action, 'allow', 2, 0), signed).ok).toBe(false);
    const extended = { ...signed, expiresAt: new Date(now + 3_600_000).toISOString() };
    expect(signer.verify(fields, extended)).toEqual({ ok: false, failure: 'hash_mismatch' });
  });

  it('binds the reviewer group a decision names, and signs a decision without one as before', () => {
    const withGroup = decisionFields(action, 'approve', 3, 1, 'it-service-desk');
    const signed = signer.sign(withGroup, later);
    expect(signer.verify(withGroup, signed)).toEqual({ ok: true });
    expect(signer.verify(decisionFields(action, 'approve', 3, 1, 'end-user'), signed).ok).toBe(
      false,
    );
    expect(signer.verify(decisionFields(action, 'approve', 3, 1), signed).ok).toBe(false);
    expect(decisionFields(action, 'approve', 3, 1)).not.toHaveProperty('reviewerGroup');
  });

  it('refuses a forged signature, an unknown key and an expired decision', () => {
    const signed = signer.sign(fields, later);
    const forged = { ...signed, signature: 'ab'.repeat(32) };
    expect(signer.verify(fields, forged)).toEqual({ ok: false, failure: 'bad_signature' });
    const otherKey = new Signer([{ id: 'k2', secret: 'another-secret-of-thirty-two-bytes!!' }]);
    expect(otherKey.verify(fields, signed)).toEqual({ ok: false, failure: 'unknown_key' });
    const afterExpiry = new Signer([key], () => now + 120_000);
    expect(afterExpiry.verify(fields, signed)).toEqual({ ok: false, failure: 'expired' });
  });

  it('verifies with an older key during rotation, and signs with the newest', () => {
    const old = signer.sign(fields, later);
    const rotated = new Signer(
      [{ id: 'k2', secret: 'another-secret-of-thirty-two-bytes!!' }, key],
      () => now,
    );
    expect(rotated.verify(fields, old)).toEqual({ ok: true });
    expect(rotated.sign(fields, later).keyId).toBe('k2');
  });

  it('refuses short keys', () => {
    expect(() => new Signer([{ id: 'weak', secret: 'short' }])).toThrow(/shorter than 32 bytes/);
  });
});
