import { type Subscription } from '@leash/bus';
import { listenOnBus } from '@leash/bus/nest';
import { OutboxRelay, type AnyAggregate } from '@leash/store';
import { waitFor } from '@leash/testing';
import { ExecutionModule } from '../execution/execution.module';
import { ActionRun } from '../execution/execution.aggregates';
import { BACKEND_AGGREGATES, Refund, Ticket } from '../tools/backends/backend.aggregates';
import { TestTool } from '../tools/test-tool';
import { createToolRegistry } from '../tools/tool-registry';
import { BusObserver } from './bus-observer';
import {
  forgerSigners,
  authorizedAction,
  fundedAction,
  openHarness,
  tampered,
  tempDir,
  ticketArguments,
  type Harness,
} from './execution-harness';

/*
 * The executor on the embedded engines (SQLite bus and store, in files):
 * events published on the bus, results read back from it by another group,
 * and the simulated backends' state read from the store.
 */
describe('executor on the embedded engines', () => {
  let dir: ReturnType<typeof tempDir>;
  let h: Harness;
  let relay: OutboxRelay;
  let subscription: Subscription;
  const observer = new BusObserver();
  const flaky = new TestTool({
    name: 'flaky_probe',
    steps: [{ kind: 'transient' }, { kind: 'transient' }],
  });
  const slow = new TestTool({ name: 'slow_probe', timeoutMs: 50, steps: [{ kind: 'hang' }] });
  const chatty = new TestTool({
    name: 'chatty_probe',
    steps: [{ kind: 'succeed', output: 'z'.repeat(40_000) }],
  });
  let ticketCalls = 0;

  beforeAll(async () => {
    dir = tempDir();
    const registry = createToolRegistry([flaky, slow, chatty]).wrap(
      'open_ticket',
      (inner) => (args, ctx) => {
        ticketCalls++;
        return inner(args, ctx);
      },
    );
    h = await openHarness({ dir: dir.dir, registry });
    relay = new OutboxRelay({
      outbox: h.engines.store.outbox,
      bus: h.engines.bus,
      pollIntervalMs: 20,
    });
    relay.start();
    subscription = await listenOnBus({
      bus: h.engines.bus,
      group: 'executor',
      module: ExecutionModule.forRunAction(h.execution.runAction),
      subscribe: { fromBeginning: true },
    });
    await observer.start(h.engines.bus, [
      'actions.completed',
      'actions.rejected',
      'usage.recorded',
    ]);
  });

  afterAll(async () => {
    await observer.stop();
    await subscription.close();
    await relay.stop();
    await h.close();
    dir.remove();
  });

  /** Every record of every simulated backend, to compare before and after. */
  async function backendState(): Promise<Record<string, unknown[]>> {
    const state: Record<string, unknown[]> = {};
    for (const [name, aggregate] of Object.entries(BACKEND_AGGREGATES)) {
      state[name] = (await h.engines.store.repository(aggregate as AnyAggregate).find()).map(
        (s) => s.doc,
      );
    }
    return state;
  }

  const publish = (event: ReturnType<typeof fundedAction> | ReturnType<typeof authorizedAction>) =>
    event.type === 'leash.actions.funded.v1'
      ? h.engines.bus.publish('actions.funded', event)
      : h.engines.bus.publish('actions.authorized', event);

  async function completed(actionId: string) {
    const [event] = await waitFor(
      () => {
        const found = observer.about('leash.actions.completed.v1', actionId);
        return found.length > 0 ? found : undefined;
      },
      { description: `actions.completed for ${actionId}` },
    );
    return event!;
  }

  async function expectNeverRuns(
    event: ReturnType<typeof fundedAction> | ReturnType<typeof authorizedAction>,
    code: string,
  ) {
    const before = await backendState();
    const calls = ticketCalls;
    await publish(event);
    const [rejected] = await waitFor(
      () => {
        const found = observer
          .about('leash.actions.rejected.v1', event.data.actionId)
          .filter((r) => r.id === `${event.id}:rejected`);
        return found.length > 0 ? found : undefined;
      },
      { description: `actions.rejected for ${event.data.actionId}` },
    );
    expect(rejected!.data).toMatchObject({ gate: 'executor', code });
    expect(ticketCalls).toBe(calls);
    expect(await backendState()).toEqual(before);
    return rejected!;
  }

  it('runs a valid action once and reports it', async () => {
    const event = fundedAction(h);
    await publish(event);
    const done = await completed(event.data.actionId);
    expect(done.data).toMatchObject({ status: 'succeeded', untrusted: true, replayed: false });
    expect(
      await h.engines.store.repository(Ticket).count({ where: { actionId: event.data.actionId } }),
    ).toBe(1);
    await waitFor(
      () => observer.about('leash.usage.recorded.v1', event.data.actionId).length === 1,
      {
        description: 'the usage of the run',
      },
    );
  });

  it('never runs a forged action', async () => {
    await expectNeverRuns(fundedAction(h, { signWith: forgerSigners() }), 'invalid_signature');
  });

  it('never runs an action whose arguments were altered after signing', async () => {
    const event = fundedAction(h, {
      tool: 'issue_refund',
      agent: 'support',
      arguments: { orderId: 'O-5001', amountUsd: 20, reason: 'late', note: '' },
    });
    const altered = tampered(event, (d) => ({
      ...d,
      arguments: { ...d.arguments, amountUsd: 240 },
    }));
    await expectNeverRuns(altered, 'invalid_signature');
    expect(await h.engines.store.repository(Refund).count()).toBe(0);
  });

  it('never runs an expired action', async () => {
    const event = fundedAction(h, { expiresAt: h.clock.now() + 1_000 });
    h.clock.advance(2_000);
    await expectNeverRuns(event, 'expired');
  });

  it('never runs a replayed action twice: the same action returns its stored result; its id reused is refused', async () => {
    const event = fundedAction(h);
    await publish(event);
    const first = await completed(event.data.actionId);
    const calls = ticketCalls;
    const before = await backendState();

    // The same action again, freshly and validly signed, under a new event id.
    const replay = fundedAction(h, {
      actionId: event.data.actionId,
      taskId: event.taskId!,
      arguments: event.data.arguments,
    });
    await publish(replay);
    const replayed = await waitFor(() =>
      observer
        .about('leash.actions.completed.v1', event.data.actionId)
        .find((e) => e.data.replayed),
    );
    expect(replayed.data.output).toBe(first.data.output);
    expect(ticketCalls).toBe(calls);
    expect(await backendState()).toEqual(before);

    // The same action id for other arguments.
    const reuse = fundedAction(h, {
      actionId: event.data.actionId,
      taskId: event.taskId!,
      arguments: ticketArguments({ subject: 'a different ticket' }),
    });
    await expectNeverRuns(reuse, 'replayed');
    const run = await h.engines.store.repository(ActionRun).get(event.data.actionId);
    expect(run?.doc.starts).toBe(1);
  });

  it('never runs an unapproved action', async () => {
    await expectNeverRuns(
      authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann'] }),
      'invalid_signature',
    );
    await expectNeverRuns(
      authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'ann'] }),
      'invalid_signature',
    );
    const other = authorizedAction(h, { approvalsRequired: 1, reviewers: ['ann'] });
    const borrowed = tampered(
      authorizedAction(h, { approvalsRequired: 1, reviewers: ['ann'] }),
      (d) => ({
        ...d,
        approval: other.data.approval,
      }),
    );
    await expectNeverRuns(borrowed, 'invalid_signature');
  });

  it('leaves a funded action routed to approve to the approvals service: it neither runs nor is refused here', async () => {
    const before = await backendState();
    const taskId = 'task-approve-route';
    const waiting = fundedAction(h, { taskId, route: 'approve', approvalsRequired: 1 });
    await publish(waiting);
    // A later action of the same task lands on the same partition: once it is done, so is the first.
    const after = fundedAction(h, {
      taskId,
      tool: 'search_kb',
      riskClass: 'read',
      arguments: { query: 'vpn', limit: 1 },
    });
    await publish(after);
    await completed(after.data.actionId);
    expect(observer.about('leash.actions.completed.v1', waiting.data.actionId)).toEqual([]);
    expect(observer.about('leash.actions.rejected.v1', waiting.data.actionId)).toEqual([]);
    expect(await backendState()).toEqual(before);
  });

  it('runs an action approved by the required distinct reviewers', async () => {
    const event = authorizedAction(h, {
      tool: 'issue_refund',
      agent: 'support',
      arguments: { orderId: 'O-5003', amountUsd: 400, reason: 'damaged', note: '' },
      approvalsRequired: 2,
      reviewers: ['ann', 'raj'],
      reservedUsdMicros: 400_000_000,
    });
    await publish(event);
    expect((await completed(event.data.actionId)).data.status).toBe('succeeded');
    expect(await h.engines.store.repository(Refund).count({ where: { orderId: 'O-5003' } })).toBe(
      1,
    );
    const [usage] = await waitFor(() => {
      const found = observer.about('leash.usage.recorded.v1', event.data.actionId);
      return found.length > 0 ? found : undefined;
    });
    expect(usage!.data.usdMicros).toBe(0);
  });

  it('retries a transient failure, then succeeds', async () => {
    const event = fundedAction(h, { tool: 'flaky_probe', arguments: {} });
    await publish(event);
    expect((await completed(event.data.actionId)).data).toMatchObject({
      status: 'succeeded',
      attempts: 3,
    });
    expect(flaky.calls.map((c) => c.ctx.actionId)).toEqual(Array(3).fill(event.data.actionId));
  });

  it("aborts the tool's signal on its timeout and reports the timeout", async () => {
    const event = fundedAction(h, { tool: 'slow_probe', arguments: {} });
    await publish(event);
    expect((await completed(event.data.actionId)).data).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { kind: 'timeout' },
    });
    expect(slow.calls).toHaveLength(1);
    expect(slow.calls[0]!.ctx.signal.aborted).toBe(true);
  });

  it('does not retry a semantic error', async () => {
    const before = await backendState();
    const event = fundedAction(h, {
      tool: 'lookup_customer',
      agent: 'support',
      riskClass: 'read',
      arguments: { customer: 'nobody@example.net' },
    });
    await publish(event);
    expect((await completed(event.data.actionId)).data).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { kind: 'semantic', message: 'no customer nobody@example.net' },
    });
    expect(await backendState()).toEqual(before);
  });

  it('caps the output', async () => {
    const event = fundedAction(h, { tool: 'chatty_probe', arguments: {} });
    await publish(event);
    const done = await completed(event.data.actionId);
    expect(done.data).toMatchObject({ truncated: true, untrusted: true });
    expect(Buffer.byteLength(done.data.output!)).toBe(16 * 1024);
  });
});
