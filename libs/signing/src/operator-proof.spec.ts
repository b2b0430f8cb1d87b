import { generateGateKey } from './gate-keys';
import { OperatorVerifier, proveOperatorEvent } from './operator-proof';

const operator = generateGateKey('operator-1');
const other = generateGateKey('operator-2');
const type = 'leash.releases.routed.v1';
const data = {
  agent: 'support',
  change: 'promote',
  release: 2,
  current: 2,
  history: [1],
  moveRunning: false,
  reason: 'better answers',
  by: 'ana',
  at: '2026-12-04T09:00:00.000Z',
  basedOn: '',
};
const signedAt = new Date('2026-12-04T09:00:01.000Z');

describe('operator proofs', () => {
  it('verifies an event signed with a held key, whatever order its fields are in', () => {
    const proof = proveOperatorEvent({ type, data }, operator.signingKey, signedAt);
    expect(proof).toMatchObject({ keyId: 'operator-1', signedAt: signedAt.toISOString() });
    const reordered = Object.fromEntries(Object.entries(data).reverse());
    const verifier = new OperatorVerifier([operator.publicKey]);
    expect(verifier.verify({ type, data: { ...reordered, proof } })).toEqual({
      ok: true,
      keyId: 'operator-1',
    });
  });

  it('refuses an unsigned event, a changed field, another type, and a key it does not hold', () => {
    const verifier = new OperatorVerifier([operator.publicKey]);
    const proof = proveOperatorEvent({ type, data }, operator.signingKey, signedAt);
    expect(verifier.verify({ type, data })).toEqual({
      ok: false,
      reason: 'it carries no operator signature',
    });
    const changed = verifier.verify({ type, data: { ...data, current: 1, proof } });
    expect(changed).toMatchObject({ ok: false });
    expect(!changed.ok && changed.reason).toMatch(/not operator key "operator-1"'s signature/);
    expect(
      verifier.verify({ type: 'leash.releases.created.v1', data: { ...data, proof } }).ok,
    ).toBe(false);
    // A proof's own fields are signed too: a later time does not verify.
    expect(
      verifier.verify({
        type,
        data: { ...data, proof: { ...proof, signedAt: '2027-01-01T00:00:00.000Z' } },
      }).ok,
    ).toBe(false);
    const foreign = proveOperatorEvent({ type, data }, other.signingKey, signedAt);
    expect(verifier.verify({ type, data: { ...data, proof: foreign } })).toEqual({
      ok: false,
      reason: 'it is signed with key "operator-2", which is no operator key this service holds',
    });
    // A key claiming a held key's id, but not that key.
    const impostor = proveOperatorEvent(
      { type, data },
      { ...other.signingKey, id: 'operator-1' },
      signedAt,
    );
    expect(verifier.verify({ type, data: { ...data, proof: impostor } }).ok).toBe(false);
  });

  it('keeps what a retired key signed before its retirement, and refuses what it signed after', () => {
    const verifier = new OperatorVerifier([
      { ...operator.publicKey, retiredAt: '2026-12-04T10:00:00.000Z' },
      other.publicKey,
    ]);
    const before = proveOperatorEvent({ type, data }, operator.signingKey, signedAt);
    const after = proveOperatorEvent(
      { type, data },
      operator.signingKey,
      new Date('2026-12-04T10:00:00.000Z'),
    );
    expect(verifier.verify({ type, data: { ...data, proof: before } }).ok).toBe(true);
    const refused = verifier.verify({ type, data: { ...data, proof: after } });
    expect(!refused.ok && refused.reason).toMatch(/after the key was retired at 2026-12-04T10:00/);
    expect(verifier.keyIds).toEqual(['operator-1', 'operator-2']);
  });

  it('refuses a key list that names one id twice', () => {
    expect(() => new OperatorVerifier([operator.publicKey, operator.publicKey])).toThrow(
      /appears twice/,
    );
  });
});
