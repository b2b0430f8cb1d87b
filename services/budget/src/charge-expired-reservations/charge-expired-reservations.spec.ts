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
import { ReservationSweeper } from './reservation-sweeper';
import { UNSETTLED_USAGE_ATTEMPTS } from '../decide-budget-request/decide-budget-request.usecase';

describe('ChargeExpiredReservationsUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    h.profiles.add(testProfile(roomyCaps()));
    await h.useCases.registerTask.execute({ event: taskRequestedEvent({ taskId: 't1' }) });
  });

  afterEach(() => h.close());

  const tallies = (id: string) => h.tallies(id);
  const status = async (id: string) => (await h.reservation(id))?.status;

  async function reserve(requestId: string, deadlineInMs: number) {
    const event = modelRequestEvent(h.clock, {
      taskId: 't1',
      requestId,
      inputTokens: 1_000,
      outputTokens: 0,
      deadlineAt: h.clock.now() + deadlineInMs,
    });
    // As a last delivery: decided even while another call of the task is reserved.
    await h.useCases.decideBudgetRequest.execute({ event, attempt: UNSETTLED_USAGE_ATTEMPTS });
  }

  it('charges a reservation nobody settled in full at its deadline, and only then', async () => {
    await reserve('r1', 60_000);
    h.clock.advance(60_000);
    expect(await h.useCases.chargeExpiredReservations.execute()).toBe(0);
    h.clock.advance(1);
    expect(await h.useCases.chargeExpiredReservations.execute()).toBe(1);
    expect(await status('r1')).toBe('charged');
    const task = await tallies('task:t1');
    expect(task?.['task.tokens']).toEqual({ reserved: 0, settled: 1_000 });
    expect(task?.['task.usd']).toEqual({ reserved: 0, settled: 150 });
    expect(await h.useCases.chargeExpiredReservations.execute()).toBe(0);
  });

  it('leaves settled and refused requests alone', async () => {
    await reserve('settled', 1_000);
    await h.useCases.settleUsage.execute({
      event: usageEvent({
        usageId: 'u',
        taskId: 't1',
        kind: 'model',
        requestId: 'settled',
        inputTokens: 10,
        usdMicros: 0,
      }),
    });
    await h.useCases.decideBudgetRequest.execute({
      event: modelRequestEvent(h.clock, {
        taskId: 't1',
        requestId: 'refused',
        model: 'unpriced',
        deadlineAt: h.clock.now() + 1,
      }),
    });
    h.clock.advance(3_600_000);
    expect(await h.useCases.chargeExpiredReservations.execute()).toBe(0);
    expect((await tallies('task:t1'))?.['task.tokens']).toEqual({ reserved: 0, settled: 10 });
  });

  it("charges an action's reservation when the grant and its grace have passed", async () => {
    const decided = decidedEvent(h.policy, h.clock, {
      taskId: 't1',
      amountUsd: 100,
      expiresAt: h.clock.now() + 1_000,
    });
    // The harness's grace is 60 s past the decision's expiry.
    await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });
    h.clock.advance(61_001);
    expect(await h.useCases.chargeExpiredReservations.execute()).toBe(1);
    const day = await tallies('day:acme:2026-03-01');
    expect(day?.['tenant.day.class.purchase_order.amount']).toEqual({
      reserved: 0,
      settled: 100_000_000,
    });
    expect((await tallies('task:t1'))?.['task.tool_calls']).toEqual({ reserved: 0, settled: 1 });
  });

  it('sweeps through the sweeper, one pass at a time', async () => {
    await reserve('r1', 1_000);
    await reserve('r2', 2_000);
    h.clock.advance(5_000);
    const sweeper = new ReservationSweeper(h.useCases.chargeExpiredReservations, {
      intervalMs: 60_000,
    });
    const [first, second] = await Promise.all([sweeper.sweep(), sweeper.sweep()]);
    expect(first + second).toBe(2);
    await sweeper.stop();
  });
});
