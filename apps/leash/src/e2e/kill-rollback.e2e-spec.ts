import { ControlCommander } from '@leash/kill-switch';
import { PurchaseOrder } from '@leash/service-executor';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { waitFor } from '@leash/testing';
import { LeashUnderTest } from '../eval/leash-under-test';

/*
 * A kill with rollback reaches the executor through the control topic and
 * undoes the killed task's completed write actions that define a
 * compensation: the purchase orders a restock placed are cancelled.
 */

describe('a kill with rollback', () => {
  let system: LeashUnderTest;

  beforeAll(async () => {
    system = await LeashUnderTest.start({ tenants: ['rollback'] });
  });

  afterAll(() => system?.stop());

  it("cancels the killed task's purchase orders, and only that task's", async () => {
    const restock = REFERENCE_SCENARIOS.find((s) => s.id === 'procurement.restock-wh1')!;
    const taskId = await system.submit(restock, { tenantId: 'rollback' });
    const [record] = await system.finished([taskId]);
    expect(record.finished?.status).toBe('succeeded');
    const orders = system.store.repository(PurchaseOrder);
    const placed = await orders.find({ where: { taskId } });
    expect(placed.length).toBeGreaterThan(0);
    expect(placed.every((o) => o.doc.status === 'placed')).toBe(true);

    const commander = await ControlCommander.open(system.leash.engines.bus, { source: 'e2e' });
    try {
      const result = await commander.kill({
        scope: { kind: 'task', taskId },
        reason: 'wrong warehouse',
        rollback: true,
        issuedBy: 'e2e',
      });
      expect(result.missing).toEqual([]);
    } finally {
      await commander.close();
    }

    await waitFor(
      async () =>
        (await orders.find({ where: { taskId } })).every((o) => o.doc.status === 'cancelled'),
      { timeoutMs: 20_000, description: "the task's purchase orders to be cancelled" },
    );
    const untouched = await orders.find({ where: { status: 'placed' } });
    expect(untouched.every((o) => o.doc.taskId !== taskId)).toBe(true);
  });
});
