import type { Envelope } from '@leash/contracts';
import { approvalFields } from '@leash/signing';
import { approvalRequests, verdictRecords } from '../gate/approvals.aggregates';
import {
  fundedEvent,
  openHarness,
  verdictOn,
  type FundedOptions,
  type Harness,
} from '../test/approvals-harness';

const ALICE = 'alice@acme.example';
const BOB = 'bob@acme.example';

describe('RecordVerdictUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
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

  async function statusOf(approvalId: string) {
    return (await h.engines.store.repository(approvalRequests).get(approvalId))?.doc;
  }

  it('authorizes on approval, with a signature the executor verifies over exactly this action', async () => {
    const request = await requested({ taskId: 'task-ok', actionId: 'refund-ok' });
    await expect(
      h.gate.recordVerdict.execute({ event: verdictOn(request, ALICE, { verdict: 'approve' }) }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'authorized' });

    const [authorized] = await h.pendingOf('leash.actions.authorized.v1');
    expect(authorized).toMatchObject({
      tenantId: 'acme',
      taskId: 'task-ok',
      data: {
        actionId: 'refund-ok',
        tool: 'issue_refund',
        arguments: { orderId: 'o-42', amountUsd: 250 },
        approval: { approvalId: request.data.approvalId, reviewers: [ALICE] },
      },
    });
    const identity = {
      tenantId: 'acme',
      taskId: 'task-ok',
      actionId: 'refund-ok',
      tool: 'issue_refund',
      arguments: authorized!.data.arguments,
    };
    const { approval } = authorized!.data;
    expect(
      h.verifier.verify(
        approvalFields(identity, approval.approvalId, approval.reviewers),
        approval.signed,
      ),
    ).toEqual({ ok: true });
    const changed = { ...identity, arguments: { orderId: 'o-42', amountUsd: 2_500 } };
    expect(
      h.verifier.verify(
        approvalFields(changed, approval.approvalId, approval.reviewers),
        approval.signed,
      ).ok,
    ).toBe(false);
    expect((await statusOf(request.data.approvalId))?.status).toBe('authorized');
    const [recorded] = await h.pendingOf('leash.approvals.verdict_recorded.v1');
    expect(recorded).toMatchObject({
      taskId: 'task-ok',
      data: {
        approvalId: request.data.approvalId,
        reviewer: ALICE,
        verdict: 'approve',
        outcome: 'accepted',
        effect: 'authorized',
        actionId: 'refund-ok',
        tool: 'issue_refund',
        reviewerGroup: 'support-leads',
      },
    });
  });

  it('uses an approval once: a later verdict is refused and changes nothing', async () => {
    const request = await requested({ approvalsRequired: 1 });
    await h.gate.recordVerdict.execute({
      event: verdictOn(request, ALICE, { verdict: 'approve' }),
    });
    const before = await h.pending();
    await expect(
      h.gate.recordVerdict.execute({ event: verdictOn(request, BOB, { verdict: 'approve' }) }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'already_used' });
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(request, BOB, { verdict: 'reject', feedback: 'too late' }),
      }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'already_used' });
    // Only the two refusals, for the task's audit log.
    const after = await h.pending();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(
      after.slice(before.length).map((e) => [e.type, (e.data as { refusal?: string }).refusal]),
    ).toEqual([
      ['leash.approvals.verdict_recorded.v1', 'already_used'],
      ['leash.approvals.verdict_recorded.v1', 'already_used'],
    ]);
  });

  it('turns a rejection into actions.rejected carrying the feedback for the planner', async () => {
    const request = await requested({ actionId: 'refund-no' });
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(request, ALICE, {
          verdict: 'reject',
          feedback: 'the order was already refunded on Monday',
        }),
      }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'rejected' });
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data).toMatchObject({
      actionId: 'refund-no',
      gate: 'approvals',
      code: 'approval_rejected',
      feedback: 'the order was already refunded on Monday',
    });
    expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
  });

  it('turns an edit into a new proposal that replaces the old action, which is rejected as edited', async () => {
    const request = await requested({
      taskId: 'task-edit',
      actionId: 'refund-big',
      step: 5,
      arguments: { orderId: 'o-42', amountUsd: 250 },
    });
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(request, ALICE, {
          verdict: 'edit',
          arguments: { orderId: 'o-42', amountUsd: 125 },
          comment: 'only one of the two charges',
        }),
      }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'edited' });

    const [proposed] = await h.pendingOf('leash.actions.proposed.v1');
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(proposed).toMatchObject({ tenantId: 'acme', taskId: 'task-edit' });
    expect(proposed?.data).toMatchObject({
      agent: { name: 'support', version: 1 },
      tool: 'issue_refund',
      arguments: { orderId: 'o-42', amountUsd: 125 },
      step: 5,
      replaces: 'refund-big',
      // Kept from the planner's arguments: still judged as possibly tainted.
      tainted: ['o-42'],
    });
    expect(proposed?.data.actionId).not.toBe('refund-big');
    expect(proposed?.data.reason).toContain(`Reviewer ${ALICE} edited the arguments`);
    expect(rejected?.data).toMatchObject({
      actionId: 'refund-big',
      code: 'edited',
      replacedBy: proposed?.data.actionId,
    });
    expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
    expect(await statusOf(request.data.approvalId)).toMatchObject({
      status: 'edited',
      replacedBy: proposed?.data.actionId,
    });
  });

  describe('with two reviewers required', () => {
    it('one approval is not enough, the same reviewer twice is not two, two distinct authorize', async () => {
      const request = await requested({ approvalsRequired: 2 });
      await expect(
        h.gate.recordVerdict.execute({ event: verdictOn(request, ALICE, { verdict: 'approve' }) }),
      ).resolves.toEqual({ outcome: 'accepted', effect: 'counted' });
      expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);

      await expect(
        h.gate.recordVerdict.execute({ event: verdictOn(request, ALICE, { verdict: 'approve' }) }),
      ).resolves.toMatchObject({ outcome: 'refused', refusal: 'duplicate_reviewer' });
      expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);

      await expect(
        h.gate.recordVerdict.execute({ event: verdictOn(request, BOB, { verdict: 'approve' }) }),
      ).resolves.toEqual({ outcome: 'accepted', effect: 'authorized' });
      const [authorized] = await h.pendingOf('leash.actions.authorized.v1');
      expect(authorized?.data.approval.reviewers).toEqual([ALICE, BOB]);
    });

    it('a rejection by either reviewer closes the request', async () => {
      const request = await requested({ approvalsRequired: 2 });
      await h.gate.recordVerdict.execute({
        event: verdictOn(request, ALICE, { verdict: 'approve' }),
      });
      await h.gate.recordVerdict.execute({
        event: verdictOn(request, BOB, { verdict: 'reject', feedback: 'not without a receipt' }),
      });
      expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
      expect((await h.pendingOf('leash.actions.rejected.v1'))[0]?.data.code).toBe(
        'approval_rejected',
      );
    });
  });

  describe('refuses, audits, and changes nothing when', () => {
    async function expectRefused(
      request: Envelope<'leash.approvals.requested.v1'>,
      verdict: Envelope<'leash.approvals.decided.v1'>,
      refusal: string,
    ) {
      const before = await h.pending();
      await expect(h.gate.recordVerdict.execute({ event: verdict })).resolves.toMatchObject({
        outcome: 'refused',
        refusal,
      });
      // Nothing happens but the refusal, which the task's audit log hears of on the bus.
      const after = await h.pending();
      expect(after.slice(0, before.length)).toEqual(before);
      expect(after.slice(before.length)).toEqual(
        verdict.taskId === undefined
          ? []
          : [
              expect.objectContaining({
                type: 'leash.approvals.verdict_recorded.v1',
                taskId: verdict.taskId,
                data: expect.objectContaining({
                  verdictId: verdict.id,
                  reviewer: verdict.data.reviewer,
                  outcome: 'refused',
                  refusal,
                }),
              }),
            ],
      );
      expect(await statusOf(request.data.approvalId)).toMatchObject({
        status: 'pending',
        approvals: [],
      });
      const audit = await h.gate.verdict(verdict.id);
      expect(audit).toMatchObject({
        verdictId: verdict.id,
        reviewer: verdict.data.reviewer,
        outcome: 'refused',
        refusal,
        reason: expect.any(String),
      });
    }

    it('the reviewer is not in the group asked', async () => {
      const request = await requested();
      await expectRefused(
        request,
        verdictOn(request, 'dave@acme.example', { verdict: 'approve' }),
        'not_in_group',
      );
    });

    it('the reviewer belongs to another tenant', async () => {
      const request = await requested();
      await expectRefused(
        request,
        verdictOn(request, 'mallory@globex.example', { verdict: 'approve' }),
        'unknown_reviewer',
      );
      // Claiming the other tenant on the envelope does not help either.
      await expectRefused(
        request,
        verdictOn(
          request,
          'mallory@globex.example',
          { verdict: 'approve' },
          { tenantId: 'globex' },
        ),
        'tenant_mismatch',
      );
    });

    it('the reviewer is unknown, inactive, or not allowed for this tool', async () => {
      const request = await requested();
      await expectRefused(
        request,
        verdictOn(request, 'someone@acme.example', { verdict: 'approve' }),
        'unknown_reviewer',
      );
      await expectRefused(
        request,
        verdictOn(request, 'olga@acme.example', { verdict: 'approve' }),
        'inactive_reviewer',
      );
      await expectRefused(
        request,
        verdictOn(request, 'carol@acme.example', { verdict: 'approve' }),
        'tool_not_allowed',
      );
    });

    it('the verdict is bound to another action hash', async () => {
      const request = await requested();
      await expectRefused(
        request,
        verdictOn(request, ALICE, { verdict: 'approve' }, { actionHash: 'ab'.repeat(32) }),
        'hash_mismatch',
      );
    });

    it('the approval id is unknown', async () => {
      const request = await requested();
      const verdict = verdictOn(
        { ...request, data: { ...request.data, approvalId: 'apr_nope' } },
        ALICE,
        { verdict: 'approve' },
      );
      await expect(h.gate.recordVerdict.execute({ event: verdict })).resolves.toMatchObject({
        outcome: 'refused',
        refusal: 'unknown_approval',
      });
      expect((await h.engines.store.repository(verdictRecords).get(verdict.id))?.doc.outcome).toBe(
        'refused',
      );
    });

    it('the request has expired, even before the sweeper closed it', async () => {
      const request = await requested();
      h.clock.at = Date.parse(request.data.expiresAt);
      await expectRefused(request, verdictOn(request, ALICE, { verdict: 'approve' }), 'expired');
    });
  });

  it('records a verdict once, whatever the redeliveries', async () => {
    const request = await requested({ approvalsRequired: 2 });
    const verdict = verdictOn(request, ALICE, { verdict: 'approve' });
    await h.gate.recordVerdict.execute({ event: verdict });
    await expect(h.gate.recordVerdict.execute({ event: verdict })).resolves.toEqual({
      outcome: 'duplicate',
    });
    expect((await statusOf(request.data.approvalId))?.approvals).toHaveLength(1);
  });

  it("adds reviewers' outcomes to the history the next request of the task shows", async () => {
    const first = await requested({ taskId: 'task-story', actionId: 'first', step: 1 });
    await h.gate.recordVerdict.execute({
      event: verdictOn(first, ALICE, { verdict: 'reject', feedback: 'wrong order' }),
    });
    const second = await requested({ taskId: 'task-story', actionId: 'second', step: 2 });
    expect(second.data.history).toEqual([
      'step 1 issue_refund {"orderId":"o-42","amountUsd":250}: sent to reviewers (support-leads)',
      `step 1 issue_refund {"orderId":"o-42","amountUsd":250}: rejected by ${ALICE}: wrong order`,
    ]);
  });
});
