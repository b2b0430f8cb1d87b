import { actionHash, generateGateKey } from '@leash/signing';
import { approvalIdFor, approvalRequests } from '../gate/approvals.aggregates';
import {
  HOUR,
  T0,
  fundedEvent,
  openHarness,
  upstreamSigners,
  verdictOn,
  type Harness,
} from '../test/approvals-harness';
import { chainFrom } from './request-approval.usecase';

describe('RequestApprovalUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  it('asks the first reviewer group with everything a reviewer needs to decide', async () => {
    const funded = fundedEvent(h.upstream, h.clock, { taskId: 'task-a', actionId: 'refund-1' });
    await expect(h.gate.requestApproval.execute({ event: funded })).resolves.toBe('requested');

    const [requested] = await h.pendingOf('leash.approvals.requested.v1');
    const approvalId = approvalIdFor('acme', 'refund-1', 0);
    expect(requested).toMatchObject({
      id: `approvals.requested:${approvalId}`,
      source: 'approvals',
      tenantId: 'acme',
      taskId: 'task-a',
      data: {
        approvalId,
        actionId: 'refund-1',
        actionHash: actionHash({
          tenantId: 'acme',
          taskId: 'task-a',
          actionId: 'refund-1',
          tool: 'issue_refund',
          arguments: { orderId: 'o-42', amountUsd: 250 },
        }),
        agent: { name: 'support', version: 1 },
        tool: 'issue_refund',
        arguments: { orderId: 'o-42', amountUsd: 250 },
        reason: 'the customer was charged twice for order o-42',
        riskClass: 'irreversible',
        policy: {
          policyId: 'support',
          version: 4,
          determiningPolicies: ['refund-above-100-needs-lead'],
        },
        reservedUsdMicros: 1_500,
        history: [],
        reviewersRequired: 1,
        reviewerGroup: 'support-leads',
        expiresAt: new Date(T0 + 2 * HOUR).toISOString(),
      },
    });
    const stored = await h.engines.store.repository(approvalRequests).get(approvalId);
    expect(stored?.doc).toMatchObject({ status: 'pending', stage: 0, chain: ['support-leads'] });
  });

  it("shows what the task has done so far: earlier actions and reviewers' outcomes", async () => {
    const lookup = fundedEvent(h.upstream, h.clock, {
      taskId: 'task-h',
      route: 'allow',
      tool: 'lookup_customer',
      arguments: { email: 'pat@example.com' },
      step: 1,
    });
    await expect(h.gate.requestApproval.execute({ event: lookup })).resolves.toBe('noted');
    const refund = fundedEvent(h.upstream, h.clock, { taskId: 'task-h', step: 2 });
    await h.gate.requestApproval.execute({ event: refund });

    const [requested] = await h.pendingOf('leash.approvals.requested.v1');
    expect(requested?.data.history).toEqual([
      'step 1 lookup_customer {"email":"pat@example.com"}: allowed, runs without review',
    ]);
  });

  it('leaves route allow to the executor: nothing is published', async () => {
    const funded = fundedEvent(h.upstream, h.clock, { route: 'allow' });
    await h.gate.requestApproval.execute({ event: funded });
    expect(await h.pending()).toEqual([]);
  });

  it('asks once, whether the event is redelivered or the action is funded again', async () => {
    const funded = fundedEvent(h.upstream, h.clock, { actionId: 'refund-dup' });
    await h.gate.requestApproval.execute({ event: funded });
    await expect(h.gate.requestApproval.execute({ event: funded })).resolves.toBe('duplicate');
    await expect(
      h.gate.requestApproval.execute({ event: { ...funded, id: 'funded-again' } }),
    ).resolves.toBe('duplicate');
    expect(await h.pendingOf('leash.approvals.requested.v1')).toHaveLength(1);
  });

  it('asks for as many distinct reviewers as the signed decision requires, at least one', async () => {
    await h.gate.requestApproval.execute({
      event: fundedEvent(h.upstream, h.clock, { actionId: 'two', approvalsRequired: 2 }),
    });
    await h.gate.requestApproval.execute({
      event: fundedEvent(h.upstream, h.clock, { actionId: 'zero', approvalsRequired: 0 }),
    });
    const requested = await h.pendingOf('leash.approvals.requested.v1');
    expect(requested.map((e) => [e.data.actionId, e.data.reviewersRequired])).toEqual([
      ['two', 2],
      ['zero', 1],
    ]);
  });

  it('asks the group the policy named, escalating up the chain from there, never back', async () => {
    const install = fundedEvent(h.upstream, h.clock, {
      agent: 'it-helpdesk',
      tool: 'install_software',
      actionId: 'install-1',
      reviewerGroup: 'it-service-desk',
    });
    await expect(h.gate.requestApproval.execute({ event: install })).resolves.toBe('requested');
    const [requested] = await h.pendingOf('leash.approvals.requested.v1');
    expect(requested?.data.reviewerGroup).toBe('it-service-desk');
    const approvalId = approvalIdFor('acme', 'install-1', 0);
    const stored = await h.engines.store.repository(approvalRequests).get(approvalId);
    expect(stored?.doc.chain).toEqual(['it-service-desk']);
    // The end user, asked first for the agent's other approvals, cannot answer this one.
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(requested!, 'eve@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'not_in_group' });
    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(requested!, 'frank@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'authorized' });
  });

  it('refuses a decision whose reviewer group was changed after signing', async () => {
    const redirected = fundedEvent(h.upstream, h.clock, {
      agent: 'it-helpdesk',
      tool: 'install_software',
      reviewerGroup: 'it-service-desk',
      tamperedReviewerGroup: 'end-user',
    });
    await expect(h.gate.requestApproval.execute({ event: redirected })).resolves.toBe('rejected');
    expect(await h.pendingOf('leash.approvals.requested.v1')).toEqual([]);
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data.code).toBe('invalid_signature');
  });

  it('puts no forged or altered action in front of a reviewer', async () => {
    // Keys of the right ids, but not the gates' own.
    const forger = upstreamSigners({
      policy: generateGateKey('policy-test'),
      budget: generateGateKey('budget-test'),
      approvals: generateGateKey('approvals-test'),
    });
    const forged = fundedEvent(h.upstream, h.clock, { actionId: 'forged', forgedBy: forger });
    const altered = fundedEvent(h.upstream, h.clock, {
      actionId: 'altered',
      tamperedArguments: { orderId: 'o-42', amountUsd: 25_000 },
    });
    await expect(h.gate.requestApproval.execute({ event: forged })).resolves.toBe('rejected');
    await expect(h.gate.requestApproval.execute({ event: altered })).resolves.toBe('rejected');

    expect(await h.pendingOf('leash.approvals.requested.v1')).toEqual([]);
    const rejected = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected.map((e) => [e.data.actionId, e.data.gate, e.data.code])).toEqual([
      ['forged', 'approvals', 'invalid_signature'],
      ['altered', 'approvals', 'invalid_signature'],
    ]);
  });

  it('fails closed when the agent profile is unknown: nobody could be asked', async () => {
    const funded = fundedEvent(h.upstream, h.clock, { agent: 'ghost' });
    await expect(h.gate.requestApproval.execute({ event: funded })).resolves.toBe('rejected');
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data).toMatchObject({ code: 'gate_unavailable', gate: 'approvals' });
    expect(rejected?.data.reason).toContain('ghost');
  });

  it('refuses an event without a tenant or task: there would be no hash to bind to', async () => {
    const funded = fundedEvent(h.upstream, h.clock);
    const { tenantId: _tenant, ...untenanted } = funded;
    await expect(h.gate.requestApproval.execute({ event: untenanted })).rejects.toThrow(
      /no tenantId or taskId/,
    );
  });
});

describe('chainFrom', () => {
  const chain = ['end-user', 'it-service-desk', 'it-security'];

  it("asks the agent's chain when the policy names no group", () => {
    expect(chainFrom(chain, undefined)).toEqual(chain);
  });

  it('starts at the named group and goes up from there', () => {
    expect(chainFrom(chain, 'it-service-desk')).toEqual(['it-service-desk', 'it-security']);
    expect(chainFrom(chain, 'it-security')).toEqual(['it-security']);
  });

  it('asks a group the chain does not list alone', () => {
    expect(chainFrom(chain, 'finance')).toEqual(['finance']);
  });
});
