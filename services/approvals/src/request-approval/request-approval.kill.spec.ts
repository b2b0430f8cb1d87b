import type { KillV1 } from '@leash/contracts';
import { KillSwitch } from '@leash/kill-switch';
import { approvalIdFor, approvalRequests } from '../gate/approvals.aggregates';
import { T0, fundedEvent, openHarness, type Harness } from '../test/approvals-harness';
import { RequestApprovalUseCase } from './request-approval.usecase';

describe('RequestApprovalUseCase under the kill switch', () => {
  let h: Harness;
  let killSwitch: KillSwitch;
  let requestApproval: RequestApprovalUseCase;

  const kill: KillV1 = {
    commandId: 'kill-1',
    scope: { kind: 'agent', agent: 'support' },
    reason: 'refunds to the wrong customers',
    rollback: false,
    issuedBy: 'oncall@acme.example',
    issuedAt: new Date(T0).toISOString(),
  };

  beforeEach(async () => {
    h = await openHarness();
    killSwitch = new KillSwitch({ store: h.engines.store, service: 'approvals', instance: 'spec' });
    requestApproval = new RequestApprovalUseCase({ ...h.gate.deps, killSwitch });
  });

  afterEach(() => h.close());

  it('rejects an action in scope instead of asking reviewers, code killed', async () => {
    await killSwitch.apply(kill);
    const funded = fundedEvent(h.upstream, h.clock, { actionId: 'refund-k' });
    await expect(requestApproval.execute({ event: funded })).resolves.toBe('rejected');

    expect(await h.pendingOf('leash.approvals.requested.v1')).toEqual([]);
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data).toMatchObject({
      actionId: 'refund-k',
      gate: 'approvals',
      code: 'killed',
    });
    expect(rejected?.data.reason).toContain('agent support');
    expect(rejected?.data.reason).toContain('refunds to the wrong customers');
    const request = await h.engines.store
      .repository(approvalRequests)
      .get(approvalIdFor('acme', 'refund-k', 0));
    expect(request).toBeUndefined();
  });

  it('sends actions outside the scope to reviewers, and in it again after the resume', async () => {
    await killSwitch.apply(kill);
    const other = fundedEvent(h.upstream, h.clock, {
      agent: 'it-helpdesk',
      tool: 'reset_password',
    });
    await expect(requestApproval.execute({ event: other })).resolves.toBe('requested');
    await killSwitch.resume({
      commandId: 'resume-1',
      scope: kill.scope,
      reason: 'fixed',
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0 + 1).toISOString(),
    });
    const funded = fundedEvent(h.upstream, h.clock);
    await expect(requestApproval.execute({ event: funded })).resolves.toBe('requested');
  });
});
