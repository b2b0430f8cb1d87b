import type { Envelope, KillV1 } from '@leash/contracts';
import { KillSwitch } from '@leash/kill-switch';
import { approvalRequests, verdictRecords } from '../gate/approvals.aggregates';
import { T0, fundedEvent, openHarness, verdictOn, type Harness } from '../test/approvals-harness';
import { RecordVerdictUseCase } from './record-verdict.usecase';

const ALICE = 'alice@acme.example';

describe('RecordVerdictUseCase under the kill switch', () => {
  let h: Harness;
  let killSwitch: KillSwitch;
  let recordVerdict: RecordVerdictUseCase;

  const kill: KillV1 = {
    commandId: 'kill-1',
    scope: { kind: 'tenant', tenantId: 'acme' },
    reason: 'suspected prompt injection',
    rollback: false,
    issuedBy: 'oncall@acme.example',
    issuedAt: new Date(T0).toISOString(),
  };

  beforeEach(async () => {
    h = await openHarness();
    killSwitch = new KillSwitch({ store: h.engines.store, service: 'approvals', instance: 'spec' });
    recordVerdict = new RecordVerdictUseCase({ ...h.gate.deps, killSwitch });
  });

  afterEach(() => h.close());

  /** A pending request, asked before the kill. */
  async function requested(taskId: string): Promise<Envelope<'leash.approvals.requested.v1'>> {
    const funded = fundedEvent(h.upstream, h.clock, { taskId });
    await h.gate.requestApproval.execute({ event: funded });
    const all = await h.pendingOf('leash.approvals.requested.v1');
    return all.find((e) => e.data.actionId === funded.data.actionId)!;
  }

  it('refuses an approval in scope: nothing is authorized and the request stays pending', async () => {
    const request = await requested('task-k');
    await killSwitch.apply(kill);
    const verdict = verdictOn(request, ALICE, { verdict: 'approve' });
    const outcome = await recordVerdict.execute({ event: verdict });
    expect(outcome).toMatchObject({ outcome: 'refused', refusal: 'killed' });
    expect((outcome as { reason: string }).reason).toContain('suspected prompt injection');
    expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
    const stored = await h.engines.store.repository(approvalRequests).get(request.data.approvalId);
    expect(stored?.doc).toMatchObject({ status: 'pending', approvals: [] });
    const audit = await h.engines.store.repository(verdictRecords).get(verdict.id);
    expect(audit?.doc).toMatchObject({ outcome: 'refused', refusal: 'killed' });
  });

  it('refuses an edit in scope: it would propose new work', async () => {
    const request = await requested('task-e');
    await killSwitch.apply(kill);
    const outcome = await recordVerdict.execute({
      event: verdictOn(request, ALICE, {
        verdict: 'edit',
        arguments: { orderId: 'o-42', amountUsd: 100 },
      }),
    });
    expect(outcome).toMatchObject({ outcome: 'refused', refusal: 'killed' });
    expect(await h.pendingOf('leash.actions.proposed.v1')).toEqual([]);
  });

  it('takes a reject in scope: it only closes the request', async () => {
    const request = await requested('task-r');
    await killSwitch.apply(kill);
    await expect(
      recordVerdict.execute({
        event: verdictOn(request, ALICE, { verdict: 'reject', feedback: 'no' }),
      }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'rejected' });
  });

  it('authorizes the same request after the resume', async () => {
    const request = await requested('task-a');
    await killSwitch.apply(kill);
    await recordVerdict.execute({ event: verdictOn(request, ALICE, { verdict: 'approve' }) });
    await killSwitch.resume({
      commandId: 'resume-1',
      scope: kill.scope,
      reason: 'cleared',
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0 + 1).toISOString(),
    });
    await expect(
      recordVerdict.execute({ event: verdictOn(request, ALICE, { verdict: 'approve' }) }),
    ).resolves.toEqual({ outcome: 'accepted', effect: 'authorized' });
    expect(await h.pendingOf('leash.actions.authorized.v1')).toHaveLength(1);
  });
});
