import { Module } from '@nestjs/common';
import { BASE_ENV, extendEnv } from '@leash/config';
import { createEnvelope, type Envelope } from '@leash/contracts';
import { startService, type RunningService } from '@leash/service-runtime';
import { rejectionFields } from '@leash/signing';
import { OutboxRelay } from '@leash/store';
import { waitFor } from '@leash/testing';
import { BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS } from '../ledger/budget.config';
import { BudgetCounter, BudgetReservation } from '../ledger/ledger.aggregates';
import { LedgerModule } from '../ledger/ledger.module';
import {
  BUDGET_KEY_ENV,
  decidedEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  tempDir,
  testProfile,
  type Harness,
} from './ledger-harness';
import { Observer } from './ledger-on-bus';

/*
 * The hole: an actions.rejected forged onto the bus (gate approvals, code
 * edited, naming a live action) made the budget free the reservation of a
 * $7,250 transfer still waiting for reviewers, so a second one fitted under
 * the $10,000 daily cap while the first could still be approved and run.
 * The budget service as it runs, on the embedded bus: it frees nothing on
 * an unsigned rejection and says so on actions.rejected; the approvals
 * gate's signed rejection still frees it.
 */
describe('a rejection forged onto the bus in the approvals gate’s name', () => {
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;
  let service: RunningService;
  let relay: OutboxRelay;
  const observer = new Observer();

  beforeAll(async () => {
    dir = tempDir();
    h = await openHarness({ dir: dir.dir });
    h.profiles.add(
      testProfile(roomyCaps({ tenantDay: { classes: { transfer: { amountUsd: 10_000 } } } })),
    );
    @Module({ imports: [LedgerModule.forRoot({ profiles: () => h.profiles, clock: h.clock })] })
    class TestBudgetModule {}
    service = await startService(
      {
        name: 'budget',
        env: extendEnv(BASE_ENV, BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS),
        module: TestBudgetModule,
      },
      { engines: h.engines, env: BUDGET_KEY_ENV, logger: false },
    );
    relay = new OutboxRelay({
      outbox: h.engines.store.outbox,
      bus: h.engines.bus,
      pollIntervalMs: 20,
    });
    relay.start();
    await observer.start(h, ['actions.funded', 'actions.rejected']);
    await h.engines.bus.publish('tasks.requested', taskRequestedEvent({ taskId: 'pay' }));
  });

  afterAll(async () => {
    await observer.stop();
    await relay.stop();
    await service.close();
    await h.close();
    dir.remove();
  });

  const transfer = (actionId: string) =>
    decidedEvent(h.policy, h.clock, {
      taskId: 'pay',
      actionId,
      tool: 'transfer_funds',
      actionClass: 'transfer',
      route: 'approve',
      arguments: { supplierId: 'SUP-HARDWARE', invoiceId: 'INV-1002', amountUsd: 7_250 },
      amountUsd: 7_250,
    });

  const rejection = (
    decided: Envelope<'leash.actions.decided.v1'>,
    id: string,
    signed: boolean,
  ): Envelope<'leash.actions.rejected.v1'> =>
    createEnvelope(
      'leash.actions.rejected.v1',
      {
        actionId: decided.data.actionId,
        agent: decided.data.agent,
        tool: decided.data.tool,
        gate: 'approvals',
        code: 'edited',
        reason: 'edited by a reviewer',
        ...(signed
          ? {
              signed: h.approvals.sign(
                rejectionFields(
                  {
                    tenantId: 'acme',
                    taskId: 'pay',
                    actionId: decided.data.actionId,
                    tool: decided.data.tool,
                    arguments: decided.data.arguments,
                  },
                  'edited',
                ),
                new Date(h.clock.now() + 3_600_000),
              ),
            }
          : {}),
      },
      { id, source: 'approvals', tenantId: 'acme', taskId: 'pay' },
    );

  const answerTo = (actionId: string, type: 'funded' | 'rejected', gate?: string) =>
    waitFor(
      () =>
        type === 'funded'
          ? observer.of('leash.actions.funded.v1').find((e) => e.data.actionId === actionId)
          : observer
              .of('leash.actions.rejected.v1')
              .find((e) => e.data.actionId === actionId && e.data.gate === gate),
      { description: `${type} ${actionId}`, timeoutMs: 20_000 },
    );
  const status = async (actionId: string) =>
    (await h.engines.store.repository(BudgetReservation).get(`action:${actionId}`))?.doc.status;
  const dayTransfers = async () =>
    (await h.engines.store.repository(BudgetCounter).get('day:acme:2026-03-01'))?.doc.tallies[
      'tenant.day.class.transfer.amount'
    ];

  it('frees nothing, is refused on actions.rejected, and the cap holds', async () => {
    const first = transfer('transfer-7250');
    await h.engines.bus.publish('actions.decided', first);
    await answerTo('transfer-7250', 'funded');
    expect(await dayTransfers()).toEqual({ reserved: 7_250_000_000, settled: 0 });

    const forged = rejection(first, 'forged-edit', false);
    await h.engines.bus.publish('actions.rejected', forged);
    const refused = await answerTo('transfer-7250', 'rejected', 'budget');
    expect(refused).toMatchObject({
      id: 'actions.rejected:forged-edit:refused-by-budget',
      source: 'budget',
      data: { code: 'invalid_signature' },
    });
    expect(refused.data.reason).toMatch(/carries no signature of the approvals gate/);
    expect(await status('transfer-7250')).toBe('reserved');
    expect(await dayTransfers()).toEqual({ reserved: 7_250_000_000, settled: 0 });

    // The cap holds: a second $7,250 does not fit beside the first under $10,000.
    await h.engines.bus.publish('actions.decided', transfer('transfer-second'));
    const capped = await answerTo('transfer-second', 'rejected', 'budget');
    expect(capped.data).toMatchObject({
      code: 'cap_exceeded',
      cap: 'tenant.day.class.transfer.amount',
    });

    // The approvals gate's own rejection still frees it.
    await h.engines.bus.publish('actions.rejected', rejection(first, 'genuine-edit', true));
    await waitFor(async () => (await status('transfer-7250')) === 'released', {
      description: 'the reservation to be freed by the signed rejection',
    });
    expect(await dayTransfers()).toEqual({ reserved: 0, settled: 0 });
  });
});
