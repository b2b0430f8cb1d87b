import { Module } from '@nestjs/common';
import { BASE_ENV, extendEnv } from '@leash/config';
import { startService, type RunningService } from '@leash/service-runtime';
import { OutboxRelay } from '@leash/store';
import { waitFor } from '@leash/testing';
import { BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS } from '../ledger/budget.config';
import { BudgetReservation } from '../ledger/ledger.aggregates';
import { LedgerModule } from '../ledger/ledger.module';
import {
  BUDGET_KEY_ENV,
  decidedEvent,
  modelRequestEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  tempDir,
  testProfile,
  usageEvent,
  type Harness,
} from './ledger-harness';
import { Observer } from './ledger-on-bus';

describe('LedgerModule in a Nest app on the embedded engines', () => {
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;
  let service: RunningService;
  let relay: OutboxRelay;
  const observer = new Observer();

  beforeAll(async () => {
    dir = tempDir();
    h = await openHarness({ dir: dir.dir });
    h.profiles.add(
      testProfile(
        roomyCaps({ tenantDay: { classes: { purchase_order: { perActionUsd: 10_000 } } } }),
      ),
    );

    @Module({ imports: [LedgerModule.forRoot({ profiles: () => h.profiles, clock: h.clock })] })
    class TestBudgetModule {}

    service = await startService(
      {
        name: 'budget',
        env: extendEnv(BASE_ENV, BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS),
        module: TestBudgetModule,
      },
      {
        engines: h.engines,
        env: BUDGET_KEY_ENV,
        logger: false,
      },
    );
    relay = new OutboxRelay({
      outbox: h.engines.store.outbox,
      bus: h.engines.bus,
      pollIntervalMs: 50,
    });
    relay.start();
    await observer.start(h, ['actions.funded', 'actions.rejected', 'budget.decisions']);
  });

  afterAll(async () => {
    await observer.stop();
    await relay.stop();
    await service.close();
    await h.close();
    dir.remove();
  });

  it.each(['allow', 'approve'] as const)('funds a decision routed %s', async (route) => {
    const decided = decidedEvent(h.policy, h.clock, { route, amountUsd: 500 });
    await h.engines.bus.publish('actions.decided', decided);
    const funded = await waitFor(() =>
      observer.of('leash.actions.funded.v1').find((e) => e.data.actionId === decided.data.actionId),
    );
    expect(funded.data.decision.route).toBe(route);
    expect(funded.data.grant.reservedUsdMicros).toBe(500_000_000);
  });

  it('rejects a decision over a cap on actions.rejected', async () => {
    const decided = decidedEvent(h.policy, h.clock, { amountUsd: 20_000 });
    await h.engines.bus.publish('actions.decided', decided);
    const rejected = await waitFor(() =>
      observer
        .of('leash.actions.rejected.v1')
        .find((e) => e.data.actionId === decided.data.actionId),
    );
    expect(rejected.data).toMatchObject({
      gate: 'budget',
      cap: 'action.class.purchase_order.amount',
    });
  });

  it('answers a model request on budget.decisions and settles its usage', async () => {
    await h.engines.bus.publish('tasks.requested', taskRequestedEvent({ taskId: 'nest-task' }));
    const request = modelRequestEvent(h.clock, { taskId: 'nest-task', requestId: 'nest-r1' });
    await h.engines.bus.publish('budget.requests', request);
    const decided = await waitFor(() =>
      observer.of('leash.budget.decided.v1').find((e) => e.data.requestId === 'nest-r1'),
    );
    expect(decided.data.granted).toBe(true);
    await h.engines.bus.publish(
      'usage.recorded',
      usageEvent({
        usageId: 'nest-u1',
        taskId: 'nest-task',
        kind: 'model',
        requestId: 'nest-r1',
        inputTokens: 10,
        usdMicros: 2,
      }),
    );
    await waitFor(async () => {
      const reservation = await h.engines.store.repository(BudgetReservation).get('nest-r1');
      return reservation?.doc.status === 'settled';
    });
  });
});
