import { systemClock } from '@leash/clock';
import { Module } from '@nestjs/common';
import { BASE_ENV, extendEnv } from '@leash/config';
import { startService, type RunningService } from '@leash/service-runtime';
import { OutboxRelay } from '@leash/store';
import { waitFor } from '@leash/testing';
import { EXECUTION_REQUIREMENTS, EXECUTION_VARIABLES } from '../execution/execution.config';
import { ExecutionModule } from '../execution/execution.module';
import { KILL_GATE } from '../execution/kill-gate';
import { CompensateTaskUseCase } from '../execution/compensate-task/compensate-task.usecase';
import { PurchaseOrder, Ticket } from '../tools/backends/backend.aggregates';
import { BusObserver } from './bus-observer';
import {
  EXECUTOR_KEY_ENV,
  fundedAction,
  openHarness,
  orderArguments,
  tempDir,
  type Harness,
} from './execution-harness';
import { TestKillGate } from './test-kill-gate';

/** The execution module as the service runs it: Nest, the bus transport, config from the environment. */
describe('ExecutionModule', () => {
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;
  let service: RunningService<unknown>;
  let relay: OutboxRelay;
  const observer = new BusObserver();
  const killGate = new TestKillGate();

  @Module({ imports: [ExecutionModule.forRoot({ killGate: { useValue: killGate } })] })
  class TestExecutorModule {}

  beforeAll(async () => {
    dir = tempDir();
    h = await openHarness({ dir: dir.dir });
    service = await startService(
      {
        name: 'executor',
        env: extendEnv(BASE_ENV, EXECUTION_VARIABLES, EXECUTION_REQUIREMENTS),
        module: TestExecutorModule,
      },
      {
        engines: h.engines,
        env: EXECUTOR_KEY_ENV,
        logger: false,
      },
    );
    relay = new OutboxRelay({
      outbox: h.engines.store.outbox,
      bus: h.engines.bus,
      pollIntervalMs: 20,
    });
    relay.start();
    await observer.start(h.engines.bus, ['actions.completed', 'actions.rejected']);
  });

  afterAll(async () => {
    await observer.stop();
    await relay.stop();
    await service.close();
    await h.close();
    dir.remove();
  });

  it('consumes funded actions through its Nest consumers and runs them', async () => {
    // The service verifies on the real clock: sign on it too.
    const signing = { signers: h.signers, clock: systemClock };
    const event = fundedAction(signing);
    await h.engines.bus.publish('actions.funded', event);
    await waitFor(
      () => observer.about('leash.actions.completed.v1', event.data.actionId).length === 1,
      {
        description: 'the completion',
      },
    );
    expect(
      await h.engines.store.repository(Ticket).count({ where: { actionId: event.data.actionId } }),
    ).toBe(1);
  });

  it('refuses through the kill gate it was given', async () => {
    const signing = { signers: h.signers, clock: systemClock };
    killGate.kill({
      commandId: 'kill-m',
      scope: { kind: 'tenant', tenantId: 'globex' },
      reason: 'incident',
    });
    const event = fundedAction(signing, { tenantId: 'globex' });
    await h.engines.bus.publish('actions.funded', event);
    const [rejected] = await waitFor(() => {
      const found = observer.about('leash.actions.rejected.v1', event.data.actionId);
      return found.length > 0 ? found : undefined;
    });
    expect(rejected!.data.code).toBe('killed');
    expect(service.app.get(KILL_GATE)).toBe(killGate);
  });

  it('exports compensate-task for the kill switch', async () => {
    const signing = { signers: h.signers, clock: systemClock };
    const event = fundedAction(signing, {
      tool: 'place_purchase_order',
      agent: 'procurement',
      arguments: orderArguments(),
    });
    await h.engines.bus.publish('actions.funded', event);
    await waitFor(
      () => observer.about('leash.actions.completed.v1', event.data.actionId).length === 1,
    );
    const compensate = service.app.get(CompensateTaskUseCase);
    const result = await compensate.execute({
      tenantId: 'acme',
      taskId: event.taskId!,
      reason: 'rollback',
      commandId: 'kill-r',
    });
    expect(result.compensated).toEqual([event.data.actionId]);
    const orders = await h.engines.store
      .repository(PurchaseOrder)
      .find({ where: { taskId: event.taskId! } });
    expect(orders.map((o) => o.doc.status)).toEqual(['cancelled']);
  });
});
