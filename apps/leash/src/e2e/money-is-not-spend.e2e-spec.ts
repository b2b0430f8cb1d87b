import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { toolsRun } from '../eval/golden-checks';
import { LeashUnderTest } from '../eval/leash-under-test';

/*
 * Money a tool moves (a refund, a purchase order) is booked against the
 * class's amount caps from its reservation; it is not the task's spend. The
 * executor reports the run's own cost, so a $240 refund does not use up a
 * $0.50 task budget, and the bad feed is stopped by the daily purchase-order
 * cap.
 */

const scenario = (id: string) => REFERENCE_SCENARIOS.find((s) => s.id === id)!;

describe('money moved by a tool is not task spend', () => {
  let system: LeashUnderTest;

  beforeAll(async () => {
    system = await LeashUnderTest.start({ tenants: ['spend-refund', 'spend-feed'] });
  });

  afterAll(() => system?.stop());

  it('an approved $240 refund leaves the task able to answer: it succeeds', async () => {
    const taskId = await system.submit(scenario('support.refund-over-threshold'), {
      tenantId: 'spend-refund',
    });
    const [record] = await system.finished([taskId]);
    expect(toolsRun(record.events).map((r) => r.tool)).toContain('issue_refund');
    expect(record.finished?.reason).not.toMatch(/task\.usd/);
    expect(record.finished?.status).toBe('succeeded');
    expect(record.finished!.cost.usdMicros).toBeLessThan(500_000);
  });

  it('the bad feed is stopped by the daily purchase-order cap, not by task spend', async () => {
    const taskId = await system.submit(scenario('procurement.bad-feed-200-zero'), {
      tenantId: 'spend-feed',
    });
    const [record] = await system.finished([taskId]);
    const capped = record.events.flatMap((e) =>
      e.type === 'leash.actions.rejected.v1' && e.data.code === 'cap_exceeded' ? [e.data.cap] : [],
    );
    expect(capped).toContain('tenant.day.class.purchase_order.amount');
  });
});
