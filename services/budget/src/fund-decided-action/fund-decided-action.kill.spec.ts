import { KillSwitch } from '@leash/kill-switch';
import { createLedgerUseCases, type LedgerUseCases } from '../ledger/ledger.factory';
import { T0, decidedEvent, openHarness, type Harness } from '../test/ledger-harness';

describe('FundDecidedActionUseCase under the kill switch', () => {
  let h: Harness;
  let killSwitch: KillSwitch;
  let useCases: LedgerUseCases;

  beforeEach(async () => {
    h = await openHarness();
    killSwitch = new KillSwitch({ store: h.engines.store, service: 'budget', instance: 'spec' });
    useCases = createLedgerUseCases({ ...h.deps, killSwitch });
  });

  afterEach(() => h.close());

  it('asks for no reservation in scope: the decision is rejected, code killed', async () => {
    await killSwitch.apply({
      commandId: 'kill-1',
      scope: { kind: 'all' },
      reason: 'incident 42',
      rollback: false,
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0).toISOString(),
    });
    const decided = decidedEvent(h.policy, h.clock);
    await useCases.fundDecidedAction.execute({ event: decided });
    await useCases.fundDecidedAction.execute({ event: decided });
    const pending = await h.engines.store.outbox.pending(10);
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({
      topic: 'actions.rejected',
      key: decided.taskId,
      envelope: {
        data: { actionId: decided.data.actionId, gate: 'budget', code: 'killed' },
      },
    });
    expect((pending[0]!.envelope.data as { reason: string }).reason).toContain('incident 42');
  });

  it('turns a decision outside the scope into a reservation request as usual', async () => {
    await killSwitch.apply({
      commandId: 'kill-1',
      scope: { kind: 'tenant', tenantId: 'globex' },
      reason: 'incident 42',
      rollback: false,
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0).toISOString(),
    });
    await useCases.fundDecidedAction.execute({ event: decidedEvent(h.policy, h.clock) });
    const pending = await h.engines.store.outbox.pending(10);
    expect(pending.map((p) => p.topic)).toEqual(['budget.requests']);
  });
});
