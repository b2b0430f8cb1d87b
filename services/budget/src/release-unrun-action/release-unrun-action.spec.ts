import { createEnvelope, type Envelope } from '@leash/contracts';
import {
  actionRequestEvent,
  decidedEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  testProfile,
  type Harness,
} from '../test/ledger-harness';

describe('ReleaseUnrunActionUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    h.profiles.add(
      testProfile(roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 10_000 } } } })),
    );
    await h.useCases.registerTask.execute({ event: taskRequestedEvent({ taskId: 't1' }) });
  });

  afterEach(() => h.close());

  const tallies = (id: string) => h.tallies(id);
  const reservation = (id: string) => h.reservation(id);

  const rejected = (
    actionId: string,
    gate: 'approvals' | 'executor' | 'budget',
    id = `rejected:${actionId}:${gate}`,
  ): Envelope<'leash.actions.rejected.v1'> =>
    createEnvelope(
      'leash.actions.rejected.v1',
      {
        actionId,
        agent: { name: 'procurement', version: 1 },
        tool: 'place_purchase_order',
        gate,
        code: gate === 'approvals' ? 'approval_rejected' : 'killed',
        reason: 'no',
      },
      { id, source: gate, tenantId: 'acme', taskId: 't1' },
    );

  async function fund(amountUsd: number) {
    const decided = decidedEvent(h.policy, h.clock, { taskId: 't1', amountUsd, route: 'approve' });
    await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });
    return decided.data.actionId;
  }

  it('frees everything an action the approvals gate stopped had reserved, spending nothing', async () => {
    const actionId = await fund(9_000);
    const before = await tallies('day:acme:2026-03-01');
    expect(before?.['tenant.day.class.purchase_order.amount']).toEqual({
      reserved: 9_000_000_000,
      settled: 0,
    });

    await expect(
      h.useCases.releaseUnrunAction.execute({ event: rejected(actionId, 'approvals') }),
    ).resolves.toBe(true);
    const day = await tallies('day:acme:2026-03-01');
    expect(day?.['tenant.day.class.purchase_order.amount']).toEqual({ reserved: 0, settled: 0 });
    expect(day?.['tenant.day.class.purchase_order.count']).toEqual({ reserved: 0, settled: 0 });
    expect((await tallies('task:t1'))?.['task.tool_calls']).toEqual({ reserved: 0, settled: 0 });
    expect((await reservation(`action:${actionId}`))?.status).toBe('released');

    // Released once: a redelivery, or another copy of the rejection, changes nothing.
    await expect(
      h.useCases.releaseUnrunAction.execute({ event: rejected(actionId, 'approvals', 'copy') }),
    ).resolves.toBe(false);
    // Nor does the deadline sweep charge it any more.
    h.clock.advance(24 * 3_600_000);
    await expect(h.useCases.chargeExpiredReservations.execute()).resolves.toBe(0);
    expect(
      (await tallies('day:acme:2026-03-01'))?.['tenant.day.class.purchase_order.amount'],
    ).toEqual({ reserved: 0, settled: 0 });
  });

  it("leaves other gates' rejections, and the approvals gate's refusals of what it never asked, to the deadline", async () => {
    const actionId = await fund(500);
    for (const gate of ['executor', 'budget'] as const) {
      await expect(
        h.useCases.releaseUnrunAction.execute({ event: rejected(actionId, gate) }),
      ).resolves.toBe(false);
    }
    // A forged or replayed funded event is refused with these; the genuine action may be on its way.
    for (const code of ['invalid_signature', 'killed'] as const) {
      const refusal = rejected(actionId, 'approvals', `refused:${code}`);
      const event = { ...refusal, data: { ...refusal.data, code } };
      await expect(h.useCases.releaseUnrunAction.execute({ event })).resolves.toBe(false);
    }
    expect((await reservation(`action:${actionId}`))?.status).toBe('reserved');
  });
});
