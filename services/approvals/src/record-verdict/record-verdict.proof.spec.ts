import type { Envelope } from '@leash/contracts';
import { generateVerdictKeyPair, verdictKeyId, verdictSigningKey } from '@leash/signing';
import { approvalRequests } from '../gate/approvals.aggregates';
import { ReviewerDirectory } from '../reviewers/reviewer-directory';
import {
  HOUR,
  fundedEvent,
  openHarness,
  resent,
  reviewerKeyPair,
  reviewerSigningKey,
  verdictOn,
  type FundedOptions,
  type Harness,
} from '../test/approvals-harness';

/*
 * Attacks on reviewer identity. Anyone who can publish on approvals.decided
 * can name any reviewer; only a proof (the reviewer's key, or a trusted front
 * end's) makes a verdict count, and a proof counts once, for the verdict it
 * was made for.
 */

const ALICE = 'alice@acme.example';
const BOB = 'bob@acme.example';
/** A finance manager: the reviewer an attacker most wants to be. */
const DAVE = 'dave@acme.example';
const MALLORY = 'mallory@globex.example';

const inbox = generateVerdictKeyPair();
const INBOX = { name: 'web-inbox', publicKey: inbox.publicKey, tenants: ['acme'] };

describe('RecordVerdictUseCase: proof of the reviewer', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness({ frontEnds: [INBOX] });
  });

  afterEach(() => h.close());

  async function requested(
    options: FundedOptions = {},
  ): Promise<Envelope<'leash.approvals.requested.v1'>> {
    const funded = fundedEvent(h.upstream, h.clock, options);
    await h.gate.requestApproval.execute({ event: funded });
    const all = await h.pendingOf('leash.approvals.requested.v1');
    return all.find((e) => e.data.actionId === funded.data.actionId)!;
  }

  async function expectRefusedAndAudited(
    verdict: Envelope<'leash.approvals.decided.v1'>,
    refusal: string,
    reason: RegExp,
  ): Promise<void> {
    await expect(h.gate.recordVerdict.execute({ event: verdict })).resolves.toMatchObject({
      outcome: 'refused',
      refusal,
      reason: expect.stringMatching(reason),
    });
    await expect(h.gate.verdict(verdict.id)).resolves.toMatchObject({
      reviewer: verdict.data.reviewer,
      outcome: 'refused',
      refusal,
    });
    const recorded = (await h.pendingOf('leash.approvals.verdict_recorded.v1')).find(
      (e) => e.data.verdictId === verdict.id,
    );
    expect(recorded?.data).toMatchObject({ outcome: 'refused', refusal });
  }

  async function statusOf(approvalId: string) {
    return (await h.engines.store.repository(approvalRequests).get(approvalId))?.doc;
  }

  describe('a verdict naming a finance manager, sent by someone without their key', () => {
    let request: Envelope<'leash.approvals.requested.v1'>;

    beforeEach(async () => {
      request = await requested({ reviewerGroup: 'finance' });
      expect(request.data.reviewerGroup).toBe('finance');
    });

    afterEach(async () => {
      expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
      expect(await statusOf(request.data.approvalId)).toMatchObject({
        status: 'pending',
        approvals: [],
      });
    });

    it('is refused and audited when it carries no proof', async () => {
      await expectRefusedAndAudited(
        verdictOn(request, DAVE, { verdict: 'approve' }, { signWith: null }),
        'unproven_reviewer',
        /no proof that dave@acme\.example \(tenant acme\) sent it/,
      );
    });

    it("is refused when signed with the sender's own key", async () => {
      await expectRefusedAndAudited(
        verdictOn(request, DAVE, { verdict: 'approve' }, { signWith: reviewerSigningKey(MALLORY) }),
        'bad_proof',
        /has no key ed25519:/,
      );
    });

    it("is refused when it carries dave's key id over someone else's signature", async () => {
      const forged = verdictOn(request, DAVE, { verdict: 'approve' }, { signWith: null });
      const mine = verdictOn(
        request,
        DAVE,
        { verdict: 'approve' },
        {
          id: forged.id,
          signWith: reviewerSigningKey(MALLORY),
        },
      );
      const proof = { ...mine.data.proof!, keyId: reviewerKeyPair(DAVE).keyId };
      await expectRefusedAndAudited(
        resent(forged, { ...forged.data, proof }),
        'bad_proof',
        /does not verify/,
      );
    });

    it('is refused when vouched for by a front end nobody trusts', async () => {
      const rogue = verdictSigningKey(generateVerdictKeyPair().privateKeyPem, {
        frontEnd: 'web-inbox-2',
      });
      await expectRefusedAndAudited(
        verdictOn(request, DAVE, { verdict: 'approve' }, { signWith: rogue }),
        'bad_proof',
        /not a trusted front end/,
      );
      // Nor by one claiming the trusted front end's name with another key.
      const impostor = verdictSigningKey(generateVerdictKeyPair().privateKeyPem, {
        frontEnd: 'web-inbox',
      });
      await expectRefusedAndAudited(
        verdictOn(request, DAVE, { verdict: 'approve' }, { signWith: impostor }),
        'bad_proof',
        /front end web-inbox .* does not verify/,
      );
    });

    it("is refused when dave's signed rejection is turned into an approval", async () => {
      const rejection = verdictOn(request, DAVE, { verdict: 'reject', feedback: 'no receipt' });
      const { feedback: _feedback, ...rest } = rejection.data as { feedback: string };
      const approval = resent(rejection, { ...rest, verdict: 'approve' } as never, {
        id: `${rejection.id}-2`,
      });
      await expectRefusedAndAudited(approval, 'bad_proof', /does not verify/);
    });
  });

  it("accepts the finance manager's own signed verdict, and the audit names the key", async () => {
    const request = await requested({ reviewerGroup: 'finance' });
    const verdict = verdictOn(request, DAVE, { verdict: 'approve' });
    await expect(h.gate.recordVerdict.execute({ event: verdict })).resolves.toEqual({
      outcome: 'accepted',
      effect: 'authorized',
    });
    await expect(h.gate.verdict(verdict.id)).resolves.toMatchObject({
      provenBy: { by: 'reviewer', keyId: reviewerKeyPair(DAVE).keyId },
    });
  });

  it('refuses an edit whose signed arguments were changed on the way', async () => {
    const request = await requested();
    const edit = verdictOn(request, ALICE, {
      verdict: 'edit',
      arguments: { orderId: 'o-42', amountUsd: 25 },
    });
    const bigger = resent(
      edit,
      { ...edit.data, arguments: { orderId: 'o-42', amountUsd: 2_500 } } as never,
      {
        id: `${edit.id}-x`,
      },
    );
    await expectRefusedAndAudited(bigger, 'bad_proof', /does not verify/);
    expect(await h.pendingOf('leash.actions.proposed.v1')).toEqual([]);
  });

  describe('replays', () => {
    it('refuses a valid approval replayed for a second approval', async () => {
      const first = await requested({ taskId: 'task-1' });
      const second = await requested({ taskId: 'task-2' });
      const approval = verdictOn(first, ALICE, { verdict: 'approve' });
      await expect(h.gate.recordVerdict.execute({ event: approval })).resolves.toEqual({
        outcome: 'accepted',
        effect: 'authorized',
      });

      // The same event again: a redelivery, dropped.
      await expect(h.gate.recordVerdict.execute({ event: approval })).resolves.toEqual({
        outcome: 'duplicate',
      });
      // Its proof on a verdict for the second request, as a new event of the second task.
      const copied = resent(
        { ...approval, taskId: second.taskId! },
        {
          ...approval.data,
          approvalId: second.data.approvalId,
          actionHash: second.data.actionHash,
        },
        { id: 'copied-verdict' },
      );
      await expectRefusedAndAudited(copied, 'replayed', /already presented .* on apr_/);
      expect((await statusOf(second.data.approvalId))?.status).toBe('pending');
      expect(await h.pendingOf('leash.actions.authorized.v1')).toHaveLength(1);
    });

    it('refuses a valid approval replayed after the request expired', async () => {
      const request = await requested({ approvalsRequired: 2 });
      const approval = verdictOn(request, ALICE, { verdict: 'approve' });
      const held = verdictOn(request, BOB, { verdict: 'approve' });
      await expect(h.gate.recordVerdict.execute({ event: approval })).resolves.toEqual({
        outcome: 'accepted',
        effect: 'counted',
      });
      h.clock.advance(3 * HOUR);

      // Copied onto a new event, to count as a second approval: replayed.
      await expectRefusedAndAudited(
        resent(approval, approval.data, { id: 'replayed-after-expiry' }),
        'replayed',
        /already presented/,
      );
      // A genuine verdict held back until after expiry: too late.
      await expectRefusedAndAudited(held, 'expired', /expired at/);
      // And that proof is spent too.
      await expectRefusedAndAudited(
        resent(held, held.data, { id: 'held-again' }),
        'replayed',
        /already presented/,
      );
      expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
    });
  });

  describe('revocation, seen by every process on the next verdict', () => {
    /** Another process's view of the directory: its own instance on the same store. */
    let elsewhere: ReviewerDirectory;

    beforeEach(() => {
      elsewhere = new ReviewerDirectory(h.engines.store);
    });

    it('refuses a verdict signed with a revoked key, and accepts one with the new key', async () => {
      const request = await requested();
      await expect(elsewhere.revokeKey('acme', ALICE)).resolves.toEqual([
        reviewerKeyPair(ALICE).keyId,
      ]);
      await expectRefusedAndAudited(
        verdictOn(request, ALICE, { verdict: 'approve' }),
        'bad_proof',
        /was revoked at/,
      );
      await expect(
        elsewhere.add({
          tenantId: 'acme',
          reviewer: ALICE,
          groups: [],
          publicKey: reviewerKeyPair(ALICE).publicKey,
        }),
      ).rejects.toThrow(/revoked .* never trusted again/);

      const fresh = generateVerdictKeyPair();
      await expect(
        elsewhere.add({
          tenantId: 'acme',
          reviewer: ALICE,
          groups: [],
          publicKey: fresh.publicKey,
        }),
      ).resolves.toMatchObject({ keyId: fresh.keyId });
      await expect(
        h.gate.recordVerdict.execute({
          event: verdictOn(
            request,
            ALICE,
            { verdict: 'approve' },
            {
              signWith: verdictSigningKey(fresh.privateKeyPem),
            },
          ),
        }),
      ).resolves.toEqual({ outcome: 'accepted', effect: 'authorized' });
    });

    it('refuses a reviewer removed elsewhere, whatever key they sign with', async () => {
      const request = await requested();
      await elsewhere.remove('acme', ALICE);
      await expectRefusedAndAudited(
        verdictOn(request, ALICE, { verdict: 'approve' }),
        'bad_proof',
        /was revoked at/,
      );
      expect(await elsewhere.get('acme', ALICE)).toMatchObject({ active: false });
    });

    it('keeps a revoked key revoked when the reviewer list is seeded again at start-up', async () => {
      await elsewhere.revokeKey('acme', ALICE, reviewerKeyPair(ALICE).keyId);
      await elsewhere.seed([
        {
          tenantId: 'acme',
          reviewer: ALICE,
          groups: ['support-leads'],
          keys: [{ publicKey: reviewerKeyPair(ALICE).publicKey }],
        },
      ]);
      const [key] = (await elsewhere.get('acme', ALICE))!.keys;
      expect(verdictKeyId(key!.publicKey)).toBe(reviewerKeyPair(ALICE).keyId);
      expect(key!.revokedAt).toEqual(expect.any(String));
      const request = await requested();
      await expectRefusedAndAudited(
        verdictOn(request, ALICE, { verdict: 'approve' }),
        'bad_proof',
        /revoked/,
      );
    });
  });

  describe('a trusted front end', () => {
    const vouching = verdictSigningKey(inbox.privateKeyPem, { frontEnd: 'web-inbox' });

    it('vouches for a reviewer it signed in, who needs no key of their own', async () => {
      const request = await requested();
      const verdict = verdictOn(request, BOB, { verdict: 'approve' }, { signWith: vouching });
      await expect(h.gate.recordVerdict.execute({ event: verdict })).resolves.toEqual({
        outcome: 'accepted',
        effect: 'authorized',
      });
      await expect(h.gate.verdict(verdict.id)).resolves.toMatchObject({
        provenBy: { by: 'front_end', frontEnd: 'web-inbox', keyId: inbox.keyId },
      });
      const [recorded] = await h.pendingOf('leash.approvals.verdict_recorded.v1');
      expect(recorded?.data.provenBy).toEqual({
        by: 'front_end',
        frontEnd: 'web-inbox',
        keyId: inbox.keyId,
      });
    });

    it('does not make its word more than the directory says', async () => {
      const request = await requested();
      await expectRefusedAndAudited(
        verdictOn(request, DAVE, { verdict: 'approve' }, { signWith: vouching }),
        'not_in_group',
        /not in reviewer group support-leads/,
      );
    });

    it('vouches only in the tenants it is trusted for', async () => {
      const request = await requested({ tenantId: 'globex' });
      await expectRefusedAndAudited(
        verdictOn(request, MALLORY, { verdict: 'approve' }, { signWith: vouching }),
        'bad_proof',
        /not trusted for tenant globex/,
      );
    });
  });
});
