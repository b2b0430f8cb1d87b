import { ManualClock } from '@leash/clock';
import {
  authorizedAction,
  executorVerifier,
  forgerSigners,
  gateSigners,
  fundedAction,
  tampered,
  T0,
} from '../test/execution-harness';
import { verifyAction } from './verify-action';

describe('verifyAction', () => {
  const clock = new ManualClock(T0);
  const verifier = executorVerifier(() => clock.now());
  const h = { signers: gateSigners(), clock };
  const forger = forgerSigners();

  it('accepts an action whose decision and grant cover exactly it', () => {
    expect(verifyAction(fundedAction(h), verifier)).toEqual({ ok: true });
  });

  it("refuses a forgery: signed with keys of the right ids that are not the gates' own", () => {
    expect(verifyAction(fundedAction(h, { signWith: forger }), verifier)).toMatchObject({
      ok: false,
      code: 'invalid_signature',
      reason: expect.stringMatching(/policy decision is not a valid signature of the policy gate/),
    });
  });

  it('refuses arguments, tool, task or tenant changed after signing', () => {
    const event = fundedAction(h);
    const changes = [
      tampered(event, (d) => ({ ...d, arguments: { ...d.arguments, priority: 'urgent' } })),
      tampered(event, (d) => ({ ...d, tool: 'reset_password' })),
      tampered(event, (d) => ({ ...d, actionId: 'another-action' })),
      { ...event, taskId: 'another-task' },
      { ...event, tenantId: 'globex' },
    ];
    for (const changed of changes) {
      expect(verifyAction(changed, verifier)).toMatchObject({
        ok: false,
        code: 'invalid_signature',
        reason: expect.stringMatching(/does not cover this action/),
      });
    }
  });

  it('refuses a route or grant changed after signing', () => {
    const event = fundedAction(h, { route: 'allow' });
    const approved = tampered(event, (d) => ({
      ...d,
      decision: { ...d.decision, approvalsRequired: 0, route: 'approve' },
    }));
    expect(verifyAction(approved, verifier)).toMatchObject({ code: 'invalid_signature' });
    const richer = tampered(event, (d) => ({ ...d, grant: { ...d.grant, reservedUsdMicros: 1 } }));
    expect(verifyAction(richer, verifier)).toMatchObject({
      code: 'invalid_signature',
      reason: expect.stringMatching(/budget grant/),
    });
  });

  it('refuses an event without a tenant', () => {
    const { tenantId: _tenantId, ...rest } = fundedAction(h);
    expect(verifyAction(rest, verifier)).toMatchObject({ code: 'invalid_signature' });
  });

  it('calls an authentic but expired decision expired, not forged', () => {
    const event = fundedAction(h, { expiresAt: clock.now() + 1_000 });
    const later = executorVerifier(() => clock.now() + 2_000);
    expect(verifyAction(event, later)).toMatchObject({ ok: false, code: 'expired' });
  });

  describe('route approve', () => {
    it('accepts an approval by the required number of distinct reviewers', () => {
      const event = authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'raj'] });
      expect(verifyAction(event, verifier)).toEqual({ ok: true });
    });

    it('refuses a funded action routed to approve: it has no approval', () => {
      expect(
        verifyAction(fundedAction(h, { route: 'approve', approvalsRequired: 1 }), verifier),
      ).toMatchObject({
        code: 'invalid_signature',
        reason: expect.stringMatching(/no approval is attached/),
      });
    });

    it('refuses one reviewer where two are required, and the same reviewer twice', () => {
      const one = authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann'] });
      expect(verifyAction(one, verifier)).toMatchObject({
        code: 'invalid_signature',
        reason: 'the policy asks for 2 distinct reviewers and the approval has 1',
      });
      const twice = authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'ann'] });
      expect(verifyAction(twice, verifier)).toMatchObject({ code: 'invalid_signature' });
    });

    it('refuses an approval of other arguments, or with a reviewer added after signing', () => {
      const event = authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'raj'] });
      const other = authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'raj'] });
      const borrowed = tampered(event, (d) => ({ ...d, approval: other.data.approval }));
      expect(verifyAction(borrowed, verifier)).toMatchObject({
        code: 'invalid_signature',
        reason: expect.stringMatching(/approval does not cover/),
      });
      const padded = authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann'] });
      const added = tampered(padded, (d) => ({
        ...d,
        approval: { ...d.approval, reviewers: ['ann', 'mallory'] },
      }));
      expect(verifyAction(added, verifier)).toMatchObject({ code: 'invalid_signature' });
    });

    it('refuses a forged approval', () => {
      const event = authorizedAction(h, { reviewers: ['ann'] });
      const forged = tampered(event, (d) => ({
        ...d,
        approval: {
          ...d.approval,
          signed: { ...d.approval.signed, signature: Buffer.alloc(64, 1).toString('base64') },
        },
      }));
      expect(verifyAction(forged, verifier)).toMatchObject({ code: 'invalid_signature' });
    });
  });
});
