import { ManualClock } from '@leash/clock';
import { waitFor } from '@leash/testing';
import { BudgetCounter, BudgetReservation } from '../ledger/ledger.aggregates';
import {
  MapProfiles,
  decidedEvent,
  openHarness,
  roomyCaps,
  tempDir,
  testProfile,
  type Harness,
  T0,
} from './ledger-harness';
import { Observer, runLedgerOnBus, type LedgerOnBus } from './ledger-on-bus';

const USD = 1_000_000;

describe('budget across a restart', () => {
  let dir: ReturnType<typeof tempDir>;
  let h: Harness | undefined;
  let ledger: LedgerOnBus | undefined;
  const observer = new Observer();

  afterEach(async () => {
    await observer.stop();
    await ledger?.stop();
    await h?.close();
    dir.remove();
  });

  it('loses nothing and books nothing twice when the store and bus close mid-stream', async () => {
    dir = tempDir();
    const clock = new ManualClock(T0);
    const profiles = new MapProfiles();
    profiles.add(
      testProfile(roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 60_000 } } } })),
    );

    h = await openHarness({ dir: dir.dir, clock, profiles });
    ledger = await runLedgerOnBus(h);
    await observer.start(h, ['actions.funded', 'actions.rejected']);
    const decisions = Array.from({ length: 200 }, () =>
      decidedEvent(h!.policy, clock, { amountUsd: 1_000 }),
    );
    await Promise.all(decisions.map((d) => h!.engines.bus.publish('actions.decided', d)));
    const answered = () =>
      observer.of('leash.actions.funded.v1').length +
      observer.of('leash.actions.rejected.v1').length;
    await observer.reached(10);

    // Mid-stream: stop consuming, stop the relay, close the bus and the store.
    await observer.stop();
    await ledger.stop();
    await h.close();
    const before = answered();
    expect(before).toBeLessThan(decisions.length);

    h = await openHarness({ dir: dir.dir, clock, profiles });
    ledger = await runLedgerOnBus(h);
    await observer.start(h, ['actions.funded', 'actions.rejected']);
    await waitFor(() => answered() === decisions.length, {
      timeoutMs: 30_000,
      description: 'every decision answered after the restart',
    });

    const funded = observer.of('leash.actions.funded.v1');
    const rejected = observer.of('leash.actions.rejected.v1');
    expect(funded).toHaveLength(60);
    expect(rejected).toHaveLength(140);
    const fundedIds = new Set(funded.map((e) => e.data.actionId));
    expect(rejected.some((e) => fundedIds.has(e.data.actionId))).toBe(false);

    const store = h.engines.store;
    expect(await store.repository(BudgetReservation).count()).toBe(200);
    const day = await store.repository(BudgetCounter).get('day:acme:2026-03-01');
    expect(day?.doc.tallies['tenant.day.class.purchase_order.amount']).toEqual({
      reserved: 60_000 * USD,
      settled: 0,
    });
    expect(day?.doc.tallies['tenant.day.class.purchase_order.count']).toEqual({
      reserved: 60,
      settled: 0,
    });
    await waitFor(async () => (await store.outbox.pending(10)).length === 0, {
      description: 'the outbox drained',
    });
  });
});
