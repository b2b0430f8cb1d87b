import { createApprovalQueries } from '../gate/approval-gate.factory';
import { fundedEvent, openHarness, verdictOn, type Harness } from '../test/approvals-harness';

describe('ListPendingApprovalsUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    await h.gate.directory.seed([
      { tenantId: 'globex', reviewer: 'gus@globex.example', groups: ['support-leads'] },
    ]);
  });

  afterEach(() => h.close());

  async function fund(options: Parameters<typeof fundedEvent>[2]) {
    await h.gate.requestApproval.execute({ event: fundedEvent(h.upstream, h.clock, options) });
  }

  it('lists what waits for reviewers, soonest expiry first, with what a verdict must name', async () => {
    await fund({ actionId: 'refund-a', approvalsRequired: 2 });
    await fund({ actionId: 'reset-a', agent: 'it-helpdesk', tool: 'reset_password' });
    await fund({ actionId: 'refund-g', tenantId: 'globex' });

    const all = await h.gate.listPendingApprovals.execute();
    expect(all.map((p) => p.actionId)).toEqual(['reset-a', 'refund-a', 'refund-g']);
    expect(all[1]).toMatchObject({
      tenantId: 'acme',
      tool: 'issue_refund',
      reviewerGroup: 'support-leads',
      reviewersRequired: 2,
      approvedBy: [],
      reservedUsdMicros: 1_500,
      actionHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const acme = await h.gate.listPendingApprovals.execute({ tenantId: 'acme' });
    expect(acme.map((p) => p.actionId)).toEqual(['reset-a', 'refund-a']);
    const leads = await h.gate.listPendingApprovals.execute({ group: 'support-leads' });
    expect(leads.map((p) => p.actionId)).toEqual(['refund-a', 'refund-g']);
  });

  it('lists for a reviewer only what they may still answer', async () => {
    await fund({ actionId: 'refund-a', approvalsRequired: 2 });
    await fund({ actionId: 'reset-a', agent: 'it-helpdesk', tool: 'reset_password' });
    const [refund] = await h.gate.listPendingApprovals.execute({ group: 'support-leads' });
    await h.gate.recordVerdict.execute({
      event: verdictOn(refund!, 'alice@acme.example', { verdict: 'approve' }),
    });

    const forAlice = await h.gate.listPendingApprovals.execute({
      tenantId: 'acme',
      reviewer: 'alice@acme.example',
    });
    expect(forAlice).toEqual([]);
    const forBob = await h.gate.listPendingApprovals.execute({
      tenantId: 'acme',
      reviewer: 'bob@acme.example',
    });
    expect(forBob.map((p) => [p.actionId, p.approvedBy])).toEqual([
      ['refund-a', ['alice@acme.example']],
    ]);
    const forCarol = await h.gate.listPendingApprovals.execute({
      tenantId: 'acme',
      reviewer: 'carol@acme.example',
    });
    expect(forCarol).toEqual([]);
    await expect(
      h.gate.listPendingApprovals.execute({ reviewer: 'bob@acme.example' }),
    ).rejects.toThrow(/needs a tenant/);
  });

  it('leaves out decided and expired requests', async () => {
    await fund({ actionId: 'refund-a' });
    const [pending] = await h.gate.listPendingApprovals.execute();
    await h.gate.recordVerdict.execute({
      event: verdictOn(pending!, 'alice@acme.example', { verdict: 'reject', feedback: 'no' }),
    });
    await fund({ actionId: 'refund-b' });
    h.clock.advance(3 * 3_600_000);
    expect(await h.gate.listPendingApprovals.execute()).toEqual([]);
  });

  it('builds from the store alone, for the CLI, and finds a request by id whatever its status', async () => {
    await fund({ actionId: 'refund-a' });
    const queries = createApprovalQueries(h.engines.store, h.clock);
    const [pending] = await queries.listPendingApprovals.execute();
    await h.gate.recordVerdict.execute({
      event: verdictOn(pending!, 'alice@acme.example', { verdict: 'approve' }),
    });
    expect(await queries.request(pending!.approvalId)).toMatchObject({
      actionId: 'refund-a',
      status: 'authorized',
    });
    expect(await queries.request('apr_missing')).toBeUndefined();
  });
});
