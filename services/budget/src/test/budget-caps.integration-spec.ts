import { waitFor } from '@leash/testing';
import { BudgetTask } from '../ledger/ledger.aggregates';
import {
  decidedEvent,
  modelRequestEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  tempDir,
  testProfile,
  type Harness,
} from './ledger-harness';
import { Observer, runLedgerOnBus, type LedgerOnBus } from './ledger-on-bus';

const USD = 1_000_000;

describe('budget caps through the embedded bus and the SQLite store', () => {
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;
  let ledger: LedgerOnBus;
  let observer: Observer;

  beforeEach(async () => {
    dir = tempDir();
    h = await openHarness({ dir: dir.dir });
    ledger = await runLedgerOnBus(h);
    observer = new Observer();
    await observer.start(h, [
      'actions.funded',
      'actions.rejected',
      'budget.decisions',
      'budget.alarms',
    ]);
  });

  afterEach(async () => {
    await observer.stop();
    await ledger.stop();
    await h.close();
    dir.remove();
  });

  /** Publishes decisions as the policy service does, all at once, and waits for every answer. */
  async function decideAll(amountsUsd: number[], actionClass: string, tool: string) {
    const decisions = amountsUsd.map((amountUsd) =>
      decidedEvent(h.policy, h.clock, { amountUsd, actionClass, tool, taskId: 'runaway' }),
    );
    await Promise.all(decisions.map((d) => h.engines.bus.publish('actions.decided', d)));
    const answered = () =>
      observer.of('leash.actions.funded.v1').length +
      observer.of('leash.actions.rejected.v1').length;
    await waitFor(() => answered() === decisions.length, {
      timeoutMs: 30_000,
      description: `${decisions.length} decisions answered`,
    });
    return {
      funded: observer.of('leash.actions.funded.v1'),
      rejected: observer.of('leash.actions.rejected.v1'),
    };
  }

  it('procurement runaway: 200 orders of $9,000 against $10,000 an order and $50,000 a day fund exactly 5', async () => {
    h.profiles.add(
      testProfile(
        roomyCaps({
          tenantDay: { classes: { purchase_order: { perActionUsd: 10_000, amountUsd: 50_000 } } },
        }),
      ),
    );
    const { funded, rejected } = await decideAll(
      Array.from({ length: 200 }, () => 9_000),
      'purchase_order',
      'place_purchase_order',
    );
    expect(funded).toHaveLength(5);
    const total = funded.reduce((sum, e) => sum + e.data.grant.reservedUsdMicros, 0);
    expect(total).toBe(45_000 * USD);
    expect(total).toBeLessThanOrEqual(50_000 * USD);
    expect(rejected).toHaveLength(195);
    for (const rejection of rejected) {
      expect(rejection.data).toMatchObject({
        gate: 'budget',
        code: 'cap_exceeded',
        cap: 'tenant.day.class.purchase_order.amount',
      });
    }
    expect(rejected[0]?.data.reason).toContain('$45,000.00 of $50,000.00');
    // 90% of the cap was reached: the 50% and 80% alarms fired, once each.
    const alarms = observer
      .of('leash.budget.alarm.v1')
      .filter((a) => a.data.cap === 'tenant.day.class.purchase_order.amount');
    expect(alarms.map((a) => a.data.fraction).sort()).toEqual([0.5, 0.8]);
  });

  it('split payment: $30,000 in pieces of at most $10,000 against a $10,000 daily transfer cap funds at most $10,000', async () => {
    h.profiles.add(
      testProfile(
        roomyCaps({
          tenantDay: { classes: { transfer: { perActionUsd: 10_000, amountUsd: 10_000 } } },
        }),
      ),
    );
    const pieces = [10_000, 5_000, 5_000, 4_000, 3_000, 1_000, 1_000, 500, 500];
    expect(pieces.reduce((a, b) => a + b)).toBe(30_000);
    // Shuffled, so the large piece need not come first.
    const order = [3, 7, 1, 5, 0, 8, 2, 6, 4].map((i) => pieces[i]!);
    const { funded, rejected } = await decideAll(order, 'transfer', 'transfer_funds');
    const total = funded.reduce((sum, e) => sum + e.data.grant.reservedUsdMicros, 0);
    expect(total).toBeLessThanOrEqual(10_000 * USD);
    expect(funded.length + rejected.length).toBe(pieces.length);
    for (const rejection of rejected) {
      expect(rejection.data.cap).toBe('tenant.day.class.transfer.amount');
    }
  });

  it('split payment in thirty $1,000 pieces funds exactly ten', async () => {
    h.profiles.add(
      testProfile(roomyCaps({ tenantDay: { classes: { transfer: { amountUsd: 10_000 } } } })),
    );
    const { funded, rejected } = await decideAll(
      Array.from({ length: 30 }, () => 1_000),
      'transfer',
      'transfer_funds',
    );
    expect(funded).toHaveLength(10);
    expect(funded.reduce((sum, e) => sum + e.data.grant.reservedUsdMicros, 0)).toBe(10_000 * USD);
    expect(rejected).toHaveLength(20);
  });

  it('hundreds of concurrent model reservations never sum past the tenant day cap', async () => {
    // 10,000 input tokens of gpt-4o-mini cost $0.0015; the day allows $0.10: 66 of them.
    h.profiles.add(testProfile(roomyCaps({ tenantDay: { usd: 0.1 } })));
    const tasks = Array.from({ length: 300 }, (_, i) => `task-${i}`);
    await Promise.all(
      tasks.map((taskId) =>
        h.engines.bus.publish('tasks.requested', taskRequestedEvent({ taskId })),
      ),
    );
    await waitFor(
      async () => (await h.engines.store.repository(BudgetTask).count()) === tasks.length,
      {
        description: 'every task registered',
      },
    );
    await Promise.all(
      tasks.map((taskId) =>
        h.engines.bus.publish(
          'budget.requests',
          modelRequestEvent(h.clock, { taskId, inputTokens: 10_000, outputTokens: 0 }),
        ),
      ),
    );
    await waitFor(() => observer.of('leash.budget.decided.v1').length === tasks.length, {
      timeoutMs: 30_000,
      description: 'every request decided',
    });
    const granted = observer.of('leash.budget.decided.v1').filter((d) => d.data.granted);
    const sum = granted.reduce((total, d) => total + d.data.reservedUsdMicros!, 0);
    expect(sum).toBeLessThanOrEqual(100_000);
    expect(granted).toHaveLength(66);
  });
});

describe('budget caps without the per-tenant order', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  it('holds a cap when hundreds of requests are decided at once, out of any order', async () => {
    h.profiles.add(
      testProfile(roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 50_000 } } } })),
    );
    const requests = Array.from({ length: 300 }, (_, i) =>
      decidedEvent(h.policy, h.clock, { amountUsd: 1_000 + (i % 7) * 100 }),
    );
    await Promise.all(requests.map((event) => h.useCases.fundDecidedAction.execute({ event })));
    const queued = (await h.engines.store.outbox.pending(1_000)).map((e) => e.envelope);
    await Promise.all(
      queued.map((event) =>
        event.type === 'leash.budget.requested.v1'
          ? h.useCases.decideBudgetRequest.execute({ event })
          : Promise.resolve(),
      ),
    );
    const funded = await h.pendingOf('leash.actions.funded.v1');
    const rejected = await h.pendingOf('leash.actions.rejected.v1');
    expect(funded.length + rejected.length).toBe(300);
    const total = funded.reduce((sum, e) => sum + e.data.grant.reservedUsdMicros, 0);
    expect(total).toBeLessThanOrEqual(50_000 * USD);
    // Nearly full: what is left is less than the largest order.
    expect(total).toBeGreaterThan(48_400 * USD);
  });
});
