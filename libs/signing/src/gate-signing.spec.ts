import { canonicalJson } from './canonical';
import { sign } from 'node:crypto';
import { generateGateKey, importPrivateKey, publicKeyOf } from './gate-keys';
import { GateSigner } from './gate-signer';
import { GateVerifier } from './gate-verifier';
import {
  actionHash,
  approvalFields,
  decisionFields,
  grantFields,
  rejectionFields,
} from './signed-fields';

const policyKey = generateGateKey('policy-1');
const budgetKey = generateGateKey('budget-1');
const approvalsKey = generateGateKey('approvals-1');
const action = {
  tenantId: 'acme',
  taskId: 't1',
  actionId: 'a1',
  tool: 'issue_refund',
  arguments: { amount: 50, order: 'o-1' },
};
const now = Date.parse('2026-01-01T00:00:00Z');
const later = new Date(now + 60_000);
const allPublicKeys = {
  policy: [policyKey.publicKey],
  budget: [budgetKey.publicKey],
  approvals: [approvalsKey.publicKey],
};

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

describe('a gate signs, checkers verify with public keys', () => {
  const policy = new GateSigner('policy', policyKey.signingKey);
  const verifier = new GateVerifier(allPublicKeys, { now: () => now });
  const fields = decisionFields(action, 'allow', 3, 0);

  it('verifies what the gate signed, with its public key only', () => {
    const signed = policy.sign(fields, later);
    expect(signed.keyId).toBe('policy-1');
    expect(verifier.verify(fields, signed)).toEqual({ ok: true });
    expect(publicKeyOf(policyKey.signingKey)).toEqual(policyKey.publicKey);
  });

  it('binds to the exact arguments, whatever their key order', () => {
    const reordered = { ...action, arguments: { order: 'o-1', amount: 50 } };
    expect(actionHash(reordered)).toBe(actionHash(action));
    const altered = { ...action, arguments: { amount: 5000, order: 'o-1' } };
    const signed = policy.sign(fields, later);
    expect(verifier.verify(decisionFields(altered, 'allow', 3, 0), signed)).toMatchObject({
      ok: false,
      failure: 'hash_mismatch',
    });
  });

  it('refuses a changed route, policy version or expiry', () => {
    const signed = policy.sign(fields, later);
    expect(verifier.verify(decisionFields(action, 'approve', 3, 0), signed).ok).toBe(false);
    expect(verifier.verify(decisionFields(action, 'allow', 2, 0), signed).ok).toBe(false);
    const extended = { ...signed, expiresAt: new Date(now + 3_600_000).toISOString() };
    expect(verifier.verify(fields, extended)).toMatchObject({ failure: 'hash_mismatch' });
  });

  it('binds the reviewer group a decision names, and signs a decision without one as before', () => {
    const withGroup = decisionFields(action, 'approve', 3, 1, 'it-service-desk');
    const signed = policy.sign(withGroup, later);
    expect(verifier.verify(withGroup, signed)).toEqual({ ok: true });
    expect(verifier.verify(decisionFields(action, 'approve', 3, 1, 'end-user'), signed).ok).toBe(
      false,
    );
    expect(verifier.verify(decisionFields(action, 'approve', 3, 1), signed).ok).toBe(false);
    expect(decisionFields(action, 'approve', 3, 1)).not.toHaveProperty('reviewerGroup');
  });

  it('refuses a forged signature, an unknown key and an expired decision', () => {
    const signed = policy.sign(fields, later);
    const forged = { ...signed, signature: Buffer.alloc(64, 7).toString('base64') };
    expect(verifier.verify(fields, forged)).toMatchObject({ failure: 'bad_signature' });
    const garbage = { ...signed, signature: 'not base64 at all!' };
    expect(verifier.verify(fields, garbage)).toMatchObject({ failure: 'bad_signature' });
    const stranger = new GateSigner('policy', generateGateKey('policy-x').signingKey);
    expect(verifier.verify(fields, stranger.sign(fields, later))).toEqual({
      ok: false,
      failure: 'unknown_key',
      reason: 'names key "policy-x", which is no key of the policy gate this service holds',
    });
    const afterExpiry = new GateVerifier(allPublicKeys, { now: () => now + 120_000 });
    expect(afterExpiry.verify(fields, signed)).toMatchObject({ failure: 'expired' });
  });

  it('refuses a known key of another gate: a budget key cannot sign a policy decision', () => {
    // A compromised budget process holds the budget key and can sign any bytes with it,
    // bypassing GateSigner's own refusal.
    const genuine = policy.sign(fields, later);
    const asDecision = {
      ...genuine,
      keyId: 'budget-1',
      signature: sign(
        null,
        Buffer.from(genuine.hash),
        importPrivateKey(budgetKey.signingKey),
      ).toString('base64'),
    };
    expect(verifier.verify(fields, asDecision)).toEqual({
      ok: false,
      failure: 'wrong_gate',
      reason: 'is signed with key "budget-1" of the budget gate; only the policy gate signs it',
    });
  });

  it('signs only its own kinds of fields', () => {
    const budget = new GateSigner('budget', budgetKey.signingKey);
    expect(() => budget.sign(fields, later)).toThrow(
      'the budget gate cannot sign policy-decision: the policy gate does',
    );
    const approvals = new GateSigner('approvals', approvalsKey.signingKey);
    expect(() => approvals.sign(grantFields(action, 'r1', 1), later)).toThrow(/cannot sign/);
    const approval = approvals.sign(approvalFields(action, 'ap1', ['ann']), later);
    const rejection = approvals.sign(rejectionFields(action, 'edited'), later);
    expect(verifier.verify(approvalFields(action, 'ap1', ['ann']), approval)).toEqual({ ok: true });
    expect(verifier.verify(rejectionFields(action, 'edited'), rejection)).toEqual({ ok: true });
    // A signed rejection names its code: it cannot be replayed as another.
    expect(verifier.verify(rejectionFields(action, 'approval_rejected'), rejection).ok).toBe(false);
    expect(() => budget.sign({ kind: 'constructor' }, later)).toThrow(/no gate signs/);
  });

  it('refuses one key id held for two gates', () => {
    expect(
      () =>
        new GateVerifier({
          policy: [policyKey.publicKey],
          budget: [{ ...budgetKey.publicKey, id: 'policy-1' }],
        }),
    ).toThrow('key id "policy-1" is held for both the policy and the budget gate');
  });
});

describe('rotation', () => {
  const next = generateGateKey('policy-2');
  const fields = decisionFields(action, 'allow', 3, 0);
  let clock = now;
  const retiredAt = new Date(now + 30_000).toISOString();
  const verifier = new GateVerifier(
    { policy: [next.publicKey, { ...policyKey.publicKey, retiredAt }] },
    { now: () => clock },
  );

  it('accepts the old key and the new until the old one is retired, then refuses the old', () => {
    const old = new GateSigner('policy', policyKey.signingKey).sign(fields, later);
    const fresh = new GateSigner('policy', next.signingKey).sign(fields, later);
    expect(verifier.verify(fields, old)).toEqual({ ok: true });
    expect(verifier.verify(fields, fresh)).toEqual({ ok: true });
    clock = now + 30_000;
    expect(verifier.verify(fields, old)).toEqual({
      ok: false,
      failure: 'retired_key',
      reason: `is signed with key "policy-1" of the policy gate, retired at ${retiredAt}`,
    });
    expect(verifier.verify(fields, fresh)).toEqual({ ok: true });
  });
});

describe('the verification cache', () => {
  it('skips the Ed25519 check only for the exact signature that passed it', () => {
    const signer = new GateSigner('budget', budgetKey.signingKey);
    let clock = now;
    const verifier = new GateVerifier(allPublicKeys, { now: () => clock, cacheSize: 2 });
    const fields = grantFields(action, 'r1', 1);
    const signed = signer.sign(fields, later);
    expect(verifier.verify(fields, signed)).toEqual({ ok: true });
    expect(verifier.verify(fields, signed)).toEqual({ ok: true });
    // Everything but the cryptography is still checked on a hit.
    expect(verifier.verify(grantFields(action, 'r1', 2), signed).ok).toBe(false);
    clock = now + 120_000;
    expect(verifier.verify(fields, signed)).toMatchObject({ failure: 'expired' });
    clock = now;
    const tampered = { ...signed, signature: Buffer.alloc(64).toString('base64') };
    expect(verifier.verify(fields, tampered)).toMatchObject({ failure: 'bad_signature' });
  });
});
