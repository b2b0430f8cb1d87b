import { decidedEvent, openHarness, type Harness } from '../test/ledger-harness';

describe('FundDecidedActionUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  it('turns a decision into a reservation request keyed by tenant, once', async () => {
    const decided = decidedEvent(h.policy, h.clock, {
      tenantId: 'acme',
      amountUsd: 10,
      route: 'approve',
    });
    await h.useCases.fundDecidedAction.execute({ event: decided });
    await h.useCases.fundDecidedAction.execute({ event: decided });
    const pending = await h.engines.store.outbox.pending(100);
    expect(pending).toHaveLength(1);
    const [entry] = pending;
    expect(entry).toMatchObject({ topic: 'budget.requests', key: 'acme' });
    expect(entry?.envelope).toMatchObject({
      type: 'leash.budget.requested.v1',
      tenantId: 'acme',
      taskId: decided.taskId,
      data: {
        kind: 'action',
        requestId: `action:${decided.data.actionId}`,
        actionId: decided.data.actionId,
        decided: decided.data,
        // The decision's expiry plus the harness's 60 s grace.
        deadlineAt: new Date(
          Date.parse(decided.data.decision.signed.expiresAt) + 60_000,
        ).toISOString(),
      },
    });
  });

  it('gives a second decision of the same action the same request, so it is funded once', async () => {
    const decided = decidedEvent(h.policy, h.clock);
    await h.useCases.fundDecidedAction.execute({ event: decided });
    await h.useCases.fundDecidedAction.execute({ event: { ...decided, id: 'redecided' } });
    const pending = await h.engines.store.outbox.pending(100);
    expect(pending.map((e) => e.envelope.id)).toEqual([
      `request:action:${decided.data.actionId}`,
      `request:action:${decided.data.actionId}`,
    ]);
  });
});
