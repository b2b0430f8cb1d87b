import {
  actionRequestEvent,
  decidedEvent,
  modelRequestEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  testProfile,
  usageEvent,
  type Harness,
} from '../test/ledger-harness';

describe('SettleUsageUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    h.profiles.add(
      testProfile(
        roomyCaps({
          task: { tokens: 3_000 },
          tenantDay: { classes: { purchase_order: { amountUsd: 10_000 } } },
        }),
      ),
    );
    await h.useCases.registerTask.execute({ event: taskRequestedEvent({ taskId: 't1' }) });
  });

  afterEach(() => h.close());

  const tallies = (id: string) => h.tallies(id);
  const reservation = (id: string) => h.reservation(id);

  async function reserveModel(requestId: string, tokens: number) {
    const event = modelRequestEvent(h.clock, {
      taskId: 't1',
      requestId,
      inputTokens: tokens,
      outputTokens: 0,
    });
    await h.useCases.decideBudgetRequest.execute({ event });
  }

  it('books the actual usage and releases the rest of the reservation', async () => {
    await reserveModel('r1', 2_000);
    await h.useCases.settleUsage.execute({
      event: usageEvent({
        usageId: 'u1',
        taskId: 't1',
        kind: 'model',
        reservationId: 'r1',
        model: 'gpt-4o-mini',
        inputTokens: 800,
        usdMicros: 0,
      }),
    });
    const task = await tallies('task:t1');
    expect(task?.['task.tokens']).toEqual({ reserved: 0, settled: 800 });
    // Priced by the ledger's table (800 x $0.15/M), as the planner reported nothing.
    expect(task?.['task.usd']).toEqual({ reserved: 0, settled: 120 });
    expect((await tallies('day:acme:2026-03-01'))?.['tenant.day.usd']).toEqual({
      reserved: 0,
      settled: 120,
    });
    expect(await reservation('r1')).toMatchObject({ status: 'settled', usageIds: ['u1'] });
    // What was released is available again: 800 used of 3,000.
    await reserveModel('r2', 2_200);
    const [, second] = await h.pendingOf('leash.budget.decided.v1');
    expect(second?.data.granted).toBe(true);
  });

  it('books a usage id once, whatever event carries it', async () => {
    await reserveModel('r1', 2_000);
    const usage = {
      usageId: 'u1',
      taskId: 't1',
      kind: 'model' as const,
      requestId: 'r1',
      inputTokens: 500,
      usdMicros: 75,
    };
    const event = usageEvent(usage);
    await h.useCases.settleUsage.execute({ event });
    await h.useCases.settleUsage.execute({ event });
    await h.useCases.settleUsage.execute({ event: usageEvent(usage) });
    expect((await tallies('task:t1'))?.['task.tokens']).toEqual({ reserved: 0, settled: 500 });
  });

  it("keeps an action's amount booked when the run settles, finding it by action id", async () => {
    const decided = decidedEvent(h.policy, h.clock, { taskId: 't1', amountUsd: 4_000 });
    await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });
    await h.useCases.settleUsage.execute({
      event: usageEvent({
        usageId: 'run-1',
        taskId: 't1',
        kind: 'tool',
        actionId: decided.data.actionId,
        usdMicros: 30,
      }),
    });
    const day = await tallies('day:acme:2026-03-01');
    expect(day?.['tenant.day.class.purchase_order.amount']).toEqual({
      reserved: 0,
      settled: 4_000_000_000,
    });
    expect(day?.['tenant.day.class.purchase_order.count']).toEqual({ reserved: 0, settled: 1 });
    expect(day?.['tenant.day.usd']).toEqual({ reserved: 0, settled: 30 });
    expect((await tallies('task:t1'))?.['task.tool_calls']).toEqual({ reserved: 0, settled: 1 });
  });

  it('books usage that had no reservation, since the spend happened', async () => {
    await h.useCases.settleUsage.execute({
      event: usageEvent({
        usageId: 'stray',
        taskId: 't1',
        kind: 'model',
        model: 'gpt-4o-mini',
        inputTokens: 100,
        usdMicros: 0,
      }),
    });
    expect((await tallies('task:t1'))?.['task.tokens']).toEqual({ reserved: 0, settled: 100 });
    expect((await tallies('day:acme:2026-03-01'))?.['tenant.day.usd']).toEqual({
      reserved: 0,
      settled: 15,
    });
  });

  it('adds only the overrun of usage reported after its reservation was charged in full', async () => {
    await reserveModel('r1', 1_000);
    h.clock.advance(10 * 60_000);
    expect(await h.useCases.chargeExpiredReservations.execute()).toBe(1);
    await h.useCases.settleUsage.execute({
      event: usageEvent({
        usageId: 'late',
        taskId: 't1',
        kind: 'model',
        reservationId: 'r1',
        inputTokens: 1_200,
        usdMicros: 0,
      }),
    });
    expect((await tallies('task:t1'))?.['task.tokens']).toEqual({ reserved: 0, settled: 1_200 });
    expect((await reservation('r1'))?.status).toBe('charged');
  });
});
