import type { Envelope } from '@leash/contracts';
import { approvalIdFor, approvalRequests } from '../gate/approvals.aggregates';
import {
  fundedEvent,
  openHarness,
  verdictOn,
  type FundedOptions,
  type Harness,
} from '../test/approvals-harness';
import { ApprovalSweeper } from './approval-sweeper';

const MINUTE = 60_000;

describe('ExpireApprovalsUseCase', () => {
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

  it('leaves a request alone until it expires', async () => {
    await requested();
    h.clock.advance(2 * 60 * MINUTE - 1);
    await expect(h.gate.expireApprovals.execute()).resolves.toEqual({ expired: [], escalated: [] });
    expect(await h.pendingOf('leash.actions.rejected.v1')).toEqual([]);
  });

  it('denies by default when nobody answered and no group is left to ask', async () => {
    const request = await requested({ actionId: 'refund-silent' });
    h.clock.advance(2 * 60 * MINUTE);
    await expect(h.gate.expireApprovals.execute()).resolves.toEqual({
      expired: [request.data.approvalId],
      escalated: [],
    });
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data).toMatchObject({
      actionId: 'refund-silent',
      gate: 'approvals',
      code: 'approval_expired',
    });
    // A late verdict finds it closed.
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(request, 'alice@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'expired' });
    // A second sweep does nothing more.
    await expect(h.gate.expireApprovals.execute()).resolves.toEqual({ expired: [], escalated: [] });
    expect(await h.pendingOf('leash.actions.rejected.v1')).toHaveLength(1);
  });

  it('escalates along the chain: the next group is asked under a new id, with a new expiry', async () => {
    const first = await requested({
      agent: 'it-helpdesk',
      tool: 'reset_password',
      actionId: 'reset-1',
    });
    expect(first.data.reviewerGroup).toBe('end-user');
    h.clock.advance(30 * MINUTE);
    const nextId = approvalIdFor('acme', 'reset-1', 1);
    await expect(h.gate.expireApprovals.execute()).resolves.toEqual({
      expired: [],
      escalated: [`${first.data.approvalId} -> ${nextId}`],
    });
    expect(await h.pendingOf('leash.actions.rejected.v1')).toEqual([]);
    const second = (await h.pendingOf('leash.approvals.requested.v1')).find(
      (e) => e.data.approvalId === nextId,
    )!;
    expect(second.data).toMatchObject({
      actionId: 'reset-1',
      actionHash: first.data.actionHash,
      reviewerGroup: 'it-service-desk',
      expiresAt: new Date(h.clock.now() + 30 * MINUTE).toISOString(),
    });
    expect(second.data.history.at(-1)).toContain(
      'unanswered by end-user, escalated to it-service-desk',
    );

    // The first group's window is closed; the second group decides.
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(first, 'eve@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'closed' });
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(second, 'eve@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'not_in_group' });
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(second, 'frank@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'authorized' });
    const [authorized] = await h.pendingOf('leash.actions.authorized.v1');
    expect(authorized?.data.approval).toMatchObject({
      approvalId: nextId,
      reviewers: ['frank@acme.example'],
    });
  });

  it('denies when the last group of the chain does not answer either', async () => {
    await requested({ agent: 'it-helpdesk', tool: 'reset_password', actionId: 'reset-2' });
    h.clock.advance(30 * MINUTE);
    await h.gate.expireApprovals.execute();
    h.clock.advance(30 * MINUTE);
    const report = await h.gate.expireApprovals.execute();
    expect(report.expired).toEqual([approvalIdFor('acme', 'reset-2', 1)]);
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data).toMatchObject({ actionId: 'reset-2', code: 'approval_expired' });
    const stages = await h.engines.store
      .repository(approvalRequests)
      .find({ where: { taskId: rejected!.taskId! } });
    expect(stages.map((s) => [s.doc.reviewerGroup, s.doc.status]).sort()).toEqual([
      ['end-user', 'escalated'],
      ['it-service-desk', 'expired'],
    ]);
  });

  it('does not expire a request that was decided first', async () => {
    const request = await requested();
    await h.gate.recordVerdict.execute({
      event: verdictOn(request, 'alice@acme.example', { verdict: 'approve' }),
    });
    h.clock.advance(3 * 60 * MINUTE);
    await expect(h.gate.expireApprovals.execute()).resolves.toEqual({ expired: [], escalated: [] });
  });
});

describe('ApprovalSweeper', () => {
  it('runs passes one at a time and reports failures without stopping', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const expire = {
      execute: async () => {
        calls += 1;
        if (calls === 1) throw new Error('store busy');
        return { expired: [], escalated: [] };
      },
    };
    const sweeper = new ApprovalSweeper(expire as never, {
      intervalMs: 60_000,
      onError: (error) => errors.push(error),
    });
    await expect(sweeper.sweep()).rejects.toThrow('store busy');
    await expect(sweeper.sweep()).resolves.toEqual({ expired: [], escalated: [] });
    await sweeper.stop();
    expect(errors).toHaveLength(1);
  });
});
