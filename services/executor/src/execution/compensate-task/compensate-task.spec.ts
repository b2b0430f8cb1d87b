import {
  InventoryItem,
  PurchaseOrder,
  SoftwareInstall,
  Ticket,
} from '../../tools/backends/backend.aggregates';
import { createToolRegistry } from '../../tools/tool-registry';
import type { ToolContext } from '../../tools/tool-implementation';
import {
  fundedAction,
  openHarness,
  orderArguments,
  type Harness,
} from '../../test/execution-harness';
import { ActionRun, ExecutorAudit } from '../execution.aggregates';

describe('CompensateTaskUseCase', () => {
  let h: Harness;
  let undoCalls: { tool: string; ctx: ToolContext; args: Record<string, unknown> }[];
  const taskId = 'task-rollback';

  beforeEach(async () => {
    undoCalls = [];
    const registry = createToolRegistry();
    for (const tool of ['cancel_purchase_order', 'uninstall_software']) {
      registry.wrap(tool, (inner) => (args, ctx) => {
        undoCalls.push({ tool, ctx, args });
        return inner(args, ctx);
      });
    }
    h = await openHarness({ registry });
  });
  afterEach(() => h.close());

  async function ran(options: Parameters<typeof fundedAction>[1]) {
    h.clock.advance(1_000);
    const event = fundedAction(h, { taskId, ...options });
    expect(await h.execution.runAction.execute({ event })).toMatchObject({ status: 'succeeded' });
    return event.data.actionId;
  }

  it("undoes a task's completed write actions that define a compensation, newest first, each audited", async () => {
    const first = await ran({
      tool: 'place_purchase_order',
      agent: 'procurement',
      arguments: orderArguments(),
    });
    await ran({ tool: 'read_inventory', agent: 'procurement', riskClass: 'read', arguments: {} });
    await ran({ tool: 'open_ticket' }); // a write without a compensation: stays
    const second = await ran({
      tool: 'place_purchase_order',
      agent: 'procurement',
      arguments: orderArguments({
        sku: 'TONER-X1',
        quantity: 10,
        unitPriceUsd: 89,
        amountUsd: 890,
      }),
    });
    // Another task's order is not touched.
    const other = fundedAction(h, {
      tool: 'place_purchase_order',
      agent: 'procurement',
      arguments: orderArguments(),
    });
    await h.execution.runAction.execute({ event: other });

    const result = await h.execution.compensateTask.execute({
      tenantId: 'acme',
      taskId,
      reason: 'killed with rollback: runaway orders',
      commandId: 'kill-9',
    });

    expect(result).toEqual({ compensated: [second, first], failed: [] });
    expect(undoCalls.map((c) => c.ctx.actionId)).toEqual([
      `${second}:compensation`,
      `${first}:compensation`,
    ]);
    const orders = await h.engines.store.repository(PurchaseOrder).find({ where: { taskId } });
    expect(orders.map((o) => o.doc.status)).toEqual(['cancelled', 'cancelled']);
    expect(
      await h.engines.store.repository(PurchaseOrder).count({ where: { status: 'placed' } }),
    ).toBe(1);
    expect((await h.engines.store.repository(InventoryItem).get('TONER-X1'))?.doc.onOrder).toBe(0);
    expect(await h.engines.store.repository(Ticket).count({ where: { taskId } })).toBe(1);

    const audits = await h.engines.store
      .repository(ExecutorAudit)
      .find({ where: { what: 'compensated' } });
    expect(audits.map((a) => a.doc.actionId).sort()).toEqual([first, second].sort());
    expect(audits[0]?.doc).toMatchObject({ eventId: 'kill-9', code: 'cancel_purchase_order' });
    const run = await h.engines.store.repository(ActionRun).get(first);
    expect(run?.doc.compensation).toMatchObject({
      status: 'compensated',
      tool: 'cancel_purchase_order',
    });
  });

  it('undoes each action once when asked twice (a redelivered kill)', async () => {
    await ran({ tool: 'place_purchase_order', agent: 'procurement', arguments: orderArguments() });
    const command = { tenantId: 'acme', taskId, reason: 'cancelled', commandId: 'cancel-1' };
    await h.execution.compensateTask.execute(command);
    expect(await h.execution.compensateTask.execute(command)).toEqual({
      compensated: [],
      failed: [],
    });
    expect(undoCalls).toHaveLength(1);
  });

  it('builds the undo from the original arguments, and reports an undo that fails', async () => {
    const install = await ran({
      tool: 'install_software',
      arguments: { package: 'slack', deviceId: 'LAPTOP-3', requester: 'bob@acme.example' },
    });
    // Someone removed it by hand meanwhile, then the row was lost: the undo cannot find it.
    await h.engines.store.repository(SoftwareInstall).delete('LAPTOP-3/slack');
    const result = await h.execution.compensateTask.execute({
      tenantId: 'acme',
      taskId,
      reason: 'rollback',
      commandId: 'kill-3',
    });
    expect(undoCalls[0]?.args).toEqual({
      package: 'slack',
      deviceId: 'LAPTOP-3',
      requester: 'bob@acme.example',
    });
    expect(result.compensated).toEqual([]);
    expect(result.failed).toEqual([
      { actionId: install, error: expect.stringMatching(/semantic: slack is not installed/) },
    ]);
    const audit = await h.engines.store
      .repository(ExecutorAudit)
      .find({ where: { what: 'compensation_failed' } });
    expect(audit).toHaveLength(1);
  });
});
