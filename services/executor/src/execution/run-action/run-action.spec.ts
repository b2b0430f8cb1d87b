import { actionHash } from '@leash/signing';
import { Refund, Ticket } from '../../tools/backends/backend.aggregates';
import { TestTool, type TestToolOptions } from '../../tools/test-tool';
import type { ToolContext } from '../../tools/tool-implementation';
import { createToolRegistry } from '../../tools/tool-registry';
import {
  forgerSigners,
  authorizedAction,
  fundedAction,
  openHarness,
  tampered,
  ticketArguments,
  type Harness,
} from '../../test/execution-harness';
import { TestKillGate } from '../../test/test-kill-gate';
import { ActionRun, ExecutorAudit } from '../execution.aggregates';

describe('RunActionUseCase', () => {
  let h: Harness;
  let probe: TestTool;
  let killGate: TestKillGate;
  /** Every call of open_ticket, with its idempotency key. */
  let ticketCalls: ToolContext[];

  async function open(options: { probe?: TestToolOptions; outputLimitBytes?: number } = {}) {
    probe = new TestTool(options.probe);
    killGate = new TestKillGate();
    ticketCalls = [];
    const registry = createToolRegistry([probe]).wrap('open_ticket', (inner) => (args, ctx) => {
      ticketCalls.push(ctx);
      return inner(args, ctx);
    });
    h = await openHarness({
      registry,
      killGate,
      ...(options.outputLimitBytes !== undefined
        ? { outputLimitBytes: options.outputLimitBytes }
        : {}),
    });
  }

  afterEach(() => h.close());

  const run = (event: Parameters<Harness['execution']['runAction']['execute']>[0]['event']) =>
    h.execution.runAction.execute({ event });
  const tickets = () => h.engines.store.repository(Ticket).count();
  const rejections = () => h.pendingOf('leash.actions.rejected.v1');
  const completions = () => h.pendingOf('leash.actions.completed.v1');

  describe('an allowed, funded action', () => {
    beforeEach(() => open());

    it('runs once, records the result, and reports completion and usage in the outbox', async () => {
      const event = fundedAction(h, { arguments: ticketArguments({ subject: 'Printer jam' }) });
      expect(await run(event)).toEqual({ outcome: 'ran', status: 'succeeded' });

      expect(await tickets()).toBe(1);
      expect(ticketCalls.map((c) => c.actionId)).toEqual([event.data.actionId]);
      const stored = await h.engines.store.repository(ActionRun).get(event.data.actionId);
      expect(stored?.doc).toMatchObject({ status: 'completed', starts: 1, eventId: event.id });

      const [completed] = await completions();
      expect(completed).toMatchObject({
        id: `${event.id}:completed`,
        source: 'executor',
        tenantId: 'acme',
        taskId: event.taskId,
        data: {
          actionId: event.data.actionId,
          status: 'succeeded',
          untrusted: true,
          truncated: false,
          replayed: false,
          attempts: 1,
        },
      });
      expect(JSON.parse(completed!.data.output!)).toMatchObject({ status: 'open' });
      const [usage] = await h.pendingOf('leash.usage.recorded.v1');
      expect(usage?.data).toMatchObject({
        usageId: `tool:${event.data.actionId}`,
        kind: 'tool',
        actionId: event.data.actionId,
        reservationId: event.data.grant.reservationId,
        usdMicros: 0,
      });
      const audit = await h.engines.store
        .repository(ExecutorAudit)
        .find({ where: { actionId: event.data.actionId } });
      expect(audit.map((a) => a.doc.what)).toEqual(['ran']);
    });

    it('does nothing on a redelivery of the same event', async () => {
      const event = fundedAction(h);
      await run(event);
      expect(await run(event)).toEqual({ outcome: 'duplicate' });
      expect(ticketCalls).toHaveLength(1);
      expect(await h.pending()).toHaveLength(2);
    });

    it('returns the stored result to a replay, even freshly and validly signed, without calling the tool', async () => {
      const event = fundedAction(h);
      await run(event);
      const replay = fundedAction(h, {
        actionId: event.data.actionId,
        taskId: event.taskId!,
        arguments: event.data.arguments,
      });
      expect(await run(replay)).toEqual({ outcome: 'replayed' });
      expect(ticketCalls).toHaveLength(1);
      expect(await tickets()).toBe(1);
      const [first, second] = await completions();
      expect(second).toMatchObject({ id: `${replay.id}:completed`, data: { replayed: true } });
      expect(second!.data.output).toBe(first!.data.output);
      // Settled once: a replay records no second usage.
      expect(await h.pendingOf('leash.usage.recorded.v1')).toHaveLength(1);
    });

    it('runs concurrent deliveries of one action once', async () => {
      const event = fundedAction(h);
      const again = fundedAction(h, {
        actionId: event.data.actionId,
        taskId: event.taskId!,
        arguments: event.data.arguments,
      });
      const outcomes = await Promise.all([run(event), run(again)]);
      expect(outcomes.map((o) => o.outcome).sort()).toEqual(['ran', 'replayed']);
      expect(ticketCalls).toHaveLength(1);
    });
  });

  describe('refuses, audits and reports, and never calls the tool', () => {
    beforeEach(() => open());

    async function expectRefused(event: Parameters<typeof run>[0], code: string) {
      const before = await tickets();
      const result = await run(event);
      expect(result).toMatchObject({ outcome: 'refused', code });
      expect(await tickets()).toBe(before);
      const rejected = (await rejections()).find((r) => r.id === `${event.id}:rejected`);
      expect(rejected?.data).toMatchObject({
        actionId: event.data.actionId,
        gate: 'executor',
        code,
      });
      const audit = await h.engines.store.repository(ExecutorAudit).get(`${event.id}:refused`);
      expect(audit?.doc).toMatchObject({ what: 'refused', code, eventId: event.id });
      expect(audit?.doc.reason).toBe(rejected?.data.reason);
      return result;
    }

    it('a forged action', async () => {
      await expectRefused(fundedAction(h, { signWith: forgerSigners() }), 'invalid_signature');
      expect(ticketCalls).toHaveLength(0);
    });

    it('an action altered after signing', async () => {
      const event = fundedAction(h);
      await expectRefused(
        tampered(event, (d) => ({ ...d, arguments: { ...d.arguments, priority: 'urgent' } })),
        'invalid_signature',
      );
    });

    it('an expired action', async () => {
      const event = fundedAction(h, { expiresAt: h.clock.now() + 1_000 });
      h.clock.advance(2_000);
      await expectRefused(event, 'expired');
    });

    it('an action a kill covers', async () => {
      killGate.kill({
        commandId: 'kill-1',
        scope: { kind: 'agent', agent: 'it-helpdesk' },
        reason: 'runaway',
      });
      const result = await expectRefused(fundedAction(h), 'killed');
      expect(result).toMatchObject({ reason: expect.stringMatching(/kill-1.*runaway/) });
      // Another agent is not in the kill's scope.
      expect(await run(fundedAction(h, { agent: 'support' }))).toMatchObject({ outcome: 'ran' });
    });

    it('an action id used again for a different action, however validly signed', async () => {
      const event = fundedAction(h);
      await run(event);
      const reuse = fundedAction(h, {
        actionId: event.data.actionId,
        taskId: event.taskId!,
        arguments: ticketArguments({ subject: 'Something else entirely' }),
      });
      await expectRefused(reuse, 'replayed');
      expect(ticketCalls).toHaveLength(1);
    });

    it('route approve without an approval, and approvals short of the quorum', async () => {
      await expectRefused(
        fundedAction(h, { route: 'approve', approvalsRequired: 1 }),
        'invalid_signature',
      );
      await expectRefused(
        authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann'] }),
        'invalid_signature',
      );
      await expectRefused(
        authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'ann'] }),
        'invalid_signature',
      );
      expect(
        await run(authorizedAction(h, { approvalsRequired: 2, reviewers: ['ann', 'raj'] })),
      ).toMatchObject({
        outcome: 'ran',
        status: 'succeeded',
      });
      expect(await tickets()).toBe(1);
    });

    it('a tool the executor does not have, or arguments its parameters refuse', async () => {
      await expectRefused(fundedAction(h, { tool: 'format_disk', arguments: {} }), 'unknown_tool');
      await expectRefused(
        fundedAction(h, { arguments: ticketArguments({ requester: 'not-an-email' }) }),
        'invalid_arguments',
      );
    });

    it('a redelivered refusal once', async () => {
      const event = fundedAction(h, { signWith: forgerSigners() });
      await run(event);
      expect(await run(event)).toEqual({ outcome: 'duplicate' });
      expect(await rejections()).toHaveLength(1);
    });
  });

  it('resumes a run a crash cut short, with the same idempotency key: the effect happens once', async () => {
    await open();
    const event = fundedAction(h);
    const { actionId } = event.data;
    // What a crash after the side effect and before the commit leaves: the ticket, and a started run.
    await h.execution.backends.openTicket(
      { tenantId: 'acme', taskId: event.taskId!, actionId },
      { requester: 'alice@acme.example', subject: 's', description: 'd', priority: 'normal' },
    );
    await h.engines.store.repository(ActionRun).insert({
      actionId,
      tenantId: 'acme',
      taskId: event.taskId!,
      agent: event.data.agent,
      tool: event.data.tool,
      step: 1,
      riskClass: 'write',
      actionHash: actionHash({
        tenantId: 'acme',
        taskId: event.taskId!,
        actionId,
        tool: event.data.tool,
        arguments: event.data.arguments,
      }),
      arguments: event.data.arguments,
      reservationId: event.data.grant.reservationId,
      eventId: event.id,
      status: 'started',
      starts: 1,
      startedAt: new Date(h.clock.now()).toISOString(),
    });
    // Long enough for the signatures to expire: a started run was authorized when it started.
    h.clock.advance(3_600_000);

    expect(await run(event)).toEqual({ outcome: 'ran', status: 'succeeded' });
    expect(ticketCalls.map((c) => c.actionId)).toEqual([actionId]);
    expect(await tickets()).toBe(1);
    const stored = await h.engines.store.repository(ActionRun).get(actionId);
    expect(stored?.doc).toMatchObject({ status: 'completed', starts: 2 });
  });

  it('reports a semantic error to the planner as failed, without a retry', async () => {
    await open();
    const event = fundedAction(h, {
      tool: 'issue_refund',
      agent: 'support',
      arguments: { orderId: 'O-9999', amountUsd: 20, reason: 'damaged', note: '' },
      reservedUsdMicros: 20_000_000,
    });
    expect(await run(event)).toEqual({ outcome: 'ran', status: 'failed' });
    const [completed] = await completions();
    expect(completed?.data).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { kind: 'semantic', message: 'no order O-9999' },
    });
    expect(completed?.data.output).toBeUndefined();
    const [usage] = await h.pendingOf('leash.usage.recorded.v1');
    expect(usage?.data.usdMicros).toBe(0);
  });

  it('records the reserved amount as the usage of a money tool that ran', async () => {
    await open();
    const event = fundedAction(h, {
      tool: 'issue_refund',
      agent: 'support',
      arguments: { orderId: 'O-5004', amountUsd: 85, reason: 'damaged', note: '' },
      reservedUsdMicros: 85_000_000,
    });
    await run(event);
    expect(await h.engines.store.repository(Refund).count()).toBe(1);
    const [usage] = await h.pendingOf('leash.usage.recorded.v1');
    // Money moved is not the run's cost: the budget keeps the amount booked from the reservation.
    expect(usage?.data).toMatchObject({
      usdMicros: 0,
      reservationId: event.data.grant.reservationId,
    });
  });

  it('caps the output and marks it truncated and untrusted', async () => {
    await open({
      probe: { steps: [{ kind: 'succeed', output: 'y'.repeat(5_000) }] },
      outputLimitBytes: 1_024,
    });
    await run(fundedAction(h, { tool: 'test_probe', arguments: {} }));
    const [completed] = await completions();
    expect(completed?.data).toMatchObject({
      truncated: true,
      untrusted: true,
      status: 'succeeded',
    });
    expect(completed!.data.output).toHaveLength(1_024);
    // The full output stays in the run record, for a compensation to read.
    const stored = await h.engines.store.repository(ActionRun).get(completed!.data.actionId);
    expect(stored?.doc.output).toHaveLength(5_000);
  });

  it('retries a transient error and succeeds; records the attempts', async () => {
    await open({ probe: { steps: [{ kind: 'transient' }, { kind: 'transient' }] } });
    await run(fundedAction(h, { tool: 'test_probe', arguments: {} }));
    const [completed] = await completions();
    expect(completed?.data).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(probe.calls).toHaveLength(3);
  });

  it('aborts a running tool when a kill covers it, and reports it aborted', async () => {
    await open({ probe: { timeoutMs: 10_000, steps: [{ kind: 'hang' }] } });
    const event = fundedAction(h, { tool: 'test_probe', arguments: {} });
    const running = run(event);
    while (killGate.inFlight === 0) await new Promise((resolve) => setImmediate(resolve));
    killGate.kill({
      commandId: 'kill-2',
      scope: { kind: 'task', taskId: event.taskId! },
      reason: 'stop',
    });
    expect(await running).toEqual({ outcome: 'ran', status: 'failed' });
    expect(probe.calls[0]!.ctx.signal.aborted).toBe(true);
    const [completed] = await completions();
    expect(completed?.data.error).toMatchObject({ kind: 'aborted' });
    expect(killGate.inFlight).toBe(0);
  });
});
