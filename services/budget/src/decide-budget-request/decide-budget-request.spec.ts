import { DEFAULT_RETRY_POLICY, TransientError } from '@leash/bus';
import { sign } from 'node:crypto';
import {
  GateSigner,
  canonicalHash,
  generateGateKey,
  grantFields,
  importPrivateKey,
} from '@leash/signing';
import { BudgetCounter, BudgetReservation, TenantSettings } from '../ledger/ledger.aggregates';
import {
  BUDGET_KEY,
  T0,
  actionRequestEvent,
  decidedEvent,
  modelRequestEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  testProfile,
  type CapsInput,
  type DecidedOptions,
  type Harness,
} from '../test/ledger-harness';
import { UNKNOWN_TASK_ATTEMPTS, UNSETTLED_USAGE_ATTEMPTS } from './decide-budget-request.usecase';

describe('DecideBudgetRequestUseCase', () => {
  let h: Harness;

  async function withCaps(caps: CapsInput) {
    h = await openHarness();
    return h.profiles.add(testProfile(caps));
  }

  afterEach(() => h?.close());

  async function registerTask(taskId: string, tenantId = 'acme') {
    await h.useCases.registerTask.execute({ event: taskRequestedEvent({ taskId, tenantId }) });
  }

  /**
   * Asks for a model call. By default as its last delivery, so it is decided even while
   * another call of the task is reserved: the cap arithmetic over open reservations.
   */
  async function askModel(
    taskId: string,
    options: Partial<Parameters<typeof modelRequestEvent>[1]> = {},
    attempt = UNSETTLED_USAGE_ATTEMPTS,
  ) {
    const event = modelRequestEvent(h.clock, { taskId, ...options });
    await h.useCases.decideBudgetRequest.execute({ event, attempt });
    const decisions = await h.pendingOf('leash.budget.decided.v1');
    return decisions.filter((d) => d.data.requestId === event.data.requestId).at(-1)!.data;
  }

  /** Funds one decided action and returns what budget answered. */
  async function askAction(options: DecidedOptions = {}) {
    const decided = decidedEvent(h.policy, h.clock, options);
    await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });
    const answers = await h.pending();
    const answer = answers.filter(
      (e) =>
        (e.type === 'leash.actions.funded.v1' || e.type === 'leash.actions.rejected.v1') &&
        e.data.actionId === decided.data.actionId,
    );
    expect(answer).toHaveLength(1);
    return { decided, answer: answer[0]! };
  }

  async function counter(id: string) {
    return (await h.engines.store.repository(BudgetCounter).get(id))?.doc;
  }

  describe('model calls', () => {
    it('reserves the estimated tokens and their price, and answers on budget.decisions', async () => {
      await withCaps(roomyCaps());
      await registerTask('t1');
      const decided = await askModel('t1', {
        requestId: 'r1',
        inputTokens: 1_000,
        outputTokens: 500,
      });
      // 1,000 x $0.15/M + 500 x $0.60/M = $0.00045
      expect(decided).toMatchObject({
        requestId: 'r1',
        granted: true,
        reservationId: 'r1',
        reservedTokens: 1_500,
        reservedUsdMicros: 450,
      });
      const task = await counter('task:t1');
      expect(task?.tallies['task.tokens']).toEqual({ reserved: 1_500, settled: 0 });
      expect(task?.tallies['task.usd']).toEqual({ reserved: 450, settled: 0 });
      expect((await counter('day:acme:2026-03-01'))?.tallies['tenant.day.usd']).toEqual({
        reserved: 450,
        settled: 0,
      });
    });

    it('waits for the usage of the task’s earlier call before deciding the next, then decides on what is known', async () => {
      await withCaps(roomyCaps({ task: { tokens: 4_000 } }));
      await registerTask('t1');
      expect(
        (await askModel('t1', { requestId: 'step-1', inputTokens: 2_000, outputTokens: 1_000 }, 1))
          .granted,
      ).toBe(true);
      // Step 1's usage is not settled: step 2 is redelivered rather than decided on step 1's estimate.
      const next = modelRequestEvent(h.clock, {
        taskId: 't1',
        requestId: 'step-2',
        inputTokens: 500,
        outputTokens: 501,
      });
      for (let attempt = 1; attempt < UNSETTLED_USAGE_ATTEMPTS; attempt += 1) {
        await expect(
          h.useCases.decideBudgetRequest.execute({ event: next, attempt }),
        ).rejects.toBeInstanceOf(TransientError);
      }
      expect((await h.pendingOf('leash.budget.decided.v1')).map((d) => d.data.requestId)).toEqual([
        'step-1',
      ]);
      // Its last delivery is decided on what is known: step 1's 3,000 reserved tokens count.
      await h.useCases.decideBudgetRequest.execute({
        event: next,
        attempt: UNSETTLED_USAGE_ATTEMPTS,
      });
      const decided = (await h.pendingOf('leash.budget.decided.v1')).at(-1)!.data;
      expect(decided).toMatchObject({ requestId: 'step-2', granted: false, cap: 'task.tokens' });
    });

    it('refuses an unpriced model instead of letting it run free', async () => {
      await withCaps(roomyCaps());
      await registerTask('t1');
      const decided = await askModel('t1', { model: 'mystery-7b' });
      expect(decided.granted).toBe(false);
      expect(decided.cap).toBe('model.mystery-7b.price');
      expect(decided.reason).toContain('has no price');
      expect((await counter('task:t1'))?.tallies).toEqual({});
    });

    it('refuses the call that would pass the task token cap, naming it', async () => {
      await withCaps(roomyCaps({ task: { tokens: 4_000 } }));
      await registerTask('t1');
      expect((await askModel('t1', { inputTokens: 2_000, outputTokens: 1_000 })).granted).toBe(
        true,
      );
      const refused = await askModel('t1', { inputTokens: 500, outputTokens: 501 });
      expect(refused).toMatchObject({ granted: false, cap: 'task.tokens' });
      expect(refused.reason).toContain('this task has used 3,000 tokens of 4,000 tokens');
      expect((await askModel('t1', { inputTokens: 500, outputTokens: 500 })).granted).toBe(true);
    });

    it('refuses the call that would pass the task dollar cap', async () => {
      // $0.001 a task: 1,000 x 0.15 + 1,000 x 0.6 = 750 micro-dollars a call.
      await withCaps(roomyCaps({ task: { usd: 0.001 } }));
      await registerTask('t1');
      const ask = () => askModel('t1', { inputTokens: 1_000, outputTokens: 1_000 });
      expect((await ask()).granted).toBe(true);
      expect(await ask()).toMatchObject({ granted: false, cap: 'task.usd' });
    });

    it("refuses once the task's wall clock, started by its first request, has run out", async () => {
      await withCaps(roomyCaps({ task: { wallClockMs: 60_000 } }));
      await registerTask('t1');
      expect((await askModel('t1')).granted).toBe(true);
      h.clock.advance(60_000);
      expect((await askModel('t1')).granted).toBe(true);
      h.clock.advance(1);
      const late = await askModel('t1');
      expect(late).toMatchObject({ granted: false, cap: 'task.wall_clock_ms' });
      expect((await counter('task:t1'))?.startedAt).toBe(T0);
    });

    it("holds the tenant's daily dollars across tasks", async () => {
      await withCaps(roomyCaps({ tenantDay: { usd: 0.0015 } }));
      for (const task of ['t1', 't2', 't3']) await registerTask(task);
      const ask = (taskId: string) => askModel(taskId, { inputTokens: 1_000, outputTokens: 1_000 });
      expect((await ask('t1')).granted).toBe(true);
      expect((await ask('t2')).granted).toBe(true);
      const refused = await ask('t3');
      expect(refused).toMatchObject({ granted: false, cap: 'tenant.day.usd' });
      expect(refused.reason).toContain('today (2026-03-01, UTC)');
    });

    it("starts a new day at midnight in the tenant's time zone", async () => {
      await withCaps(roomyCaps({ tenantDay: { usd: 0.00075 } }));
      await h.engines.store
        .repository(TenantSettings)
        .upsert({ tenantId: 'berlin', timeZone: 'Europe/Berlin' });
      for (const [task, tenant] of [
        ['b1', 'berlin'],
        ['b2', 'berlin'],
        ['u1', 'acme'],
        ['u2', 'acme'],
      ]) {
        await registerTask(task!, tenant);
      }
      const ask = (taskId: string, tenantId: string) =>
        askModel(taskId, { tenantId, inputTokens: 1_000, outputTokens: 1_000 });
      // 23:59:59 in Berlin (UTC+1): both tenants spend their day's cap.
      h.clock.at = Date.parse('2026-03-01T22:59:59Z');
      expect((await ask('b1', 'berlin')).granted).toBe(true);
      expect((await ask('u1', 'acme')).granted).toBe(true);
      // Midnight in Berlin: a new day there, still March 1st in UTC.
      h.clock.at = Date.parse('2026-03-01T23:00:00Z');
      expect((await ask('b2', 'berlin')).granted).toBe(true);
      const utc = await ask('u2', 'acme');
      expect(utc).toMatchObject({ granted: false, cap: 'tenant.day.usd' });
      expect(await counter('day:berlin:2026-03-02')).toMatchObject({ timeZone: 'Europe/Berlin' });
    });

    it('retries a model request of a task it has not seen through the whole retry budget, then refuses it', async () => {
      await withCaps(roomyCaps());
      const event = modelRequestEvent(h.clock, { taskId: 'unknown' });
      for (let attempt = 1; attempt < UNKNOWN_TASK_ATTEMPTS; attempt++) {
        await expect(
          h.useCases.decideBudgetRequest.execute({ event, attempt }),
        ).rejects.toBeInstanceOf(TransientError);
      }
      // The bus's last attempt: a TransientError now would dead-letter the request.
      expect(UNKNOWN_TASK_ATTEMPTS).toBe(DEFAULT_RETRY_POLICY.maxAttempts);
      await h.useCases.decideBudgetRequest.execute({ event, attempt: UNKNOWN_TASK_ATTEMPTS });
      const [decided] = await h.pendingOf('leash.budget.decided.v1');
      expect(decided?.data).toMatchObject({ granted: false, cap: 'task.profile' });
    });

    it('uses the profile version the task pinned', async () => {
      await withCaps(roomyCaps());
      h.profiles.add(testProfile(roomyCaps({ task: { tokens: 10 } }), { version: 2 }));
      await h.useCases.registerTask.execute({
        event: taskRequestedEvent({ taskId: 'pinned', agentVersion: 1 }),
      });
      await registerTask('current');
      expect((await askModel('pinned')).granted).toBe(true);
      expect(await askModel('current')).toMatchObject({ granted: false, cap: 'task.tokens' });
    });
  });

  describe('actions', () => {
    it('funds an allowed action with a grant the executor can verify', async () => {
      await withCaps(roomyCaps());
      const { decided, answer } = await askAction({ amountUsd: 250, route: 'approve' });
      expect(answer.type).toBe('leash.actions.funded.v1');
      if (answer.type !== 'leash.actions.funded.v1') return;
      const { grant, ...rest } = answer.data;
      expect(rest).toEqual(decided.data);
      expect(grant).toMatchObject({
        reservationId: `action:${decided.data.actionId}`,
        reservedUsdMicros: 250_000_000,
      });
      expect(grant.signed.expiresAt).toBe(decided.data.decision.signed.expiresAt);
      const identity = {
        tenantId: 'acme',
        taskId: decided.taskId!,
        actionId: decided.data.actionId,
        tool: decided.data.tool,
        arguments: decided.data.arguments,
      };
      expect(
        h.verifier.verify(grantFields(identity, grant.reservationId, 250_000_000), grant.signed),
      ).toEqual({
        ok: true,
      });
      // A grant is bound to the arguments: a changed amount fails the check.
      const altered = { ...identity, arguments: { ...identity.arguments, amountUsd: 2_500 } };
      expect(
        h.verifier.verify(grantFields(altered, grant.reservationId, 250_000_000), grant.signed).ok,
      ).toBe(false);
      expect(answer.tenantId).toBe('acme');
      expect(answer.taskId).toBe(decided.taskId);
    });

    it('refuses an order above the per-action limit on actions.rejected, naming the cap', async () => {
      await withCaps(
        roomyCaps({ tenantDay: { classes: { purchase_order: { perActionUsd: 10_000 } } } }),
      );
      const { answer } = await askAction({ amountUsd: 10_000.01 });
      expect(answer.type).toBe('leash.actions.rejected.v1');
      expect(answer.data).toMatchObject({
        gate: 'budget',
        code: 'cap_exceeded',
        cap: 'action.class.purchase_order.amount',
        tool: 'place_purchase_order',
      });
      expect((await askAction({ amountUsd: 10_000 })).answer.type).toBe('leash.actions.funded.v1');
    });

    it("holds a class's daily count and amount", async () => {
      await withCaps(
        roomyCaps({
          tenantDay: { classes: { ticket: { count: 2 }, transfer: { amountUsd: 100 } } },
        }),
      );
      const ticket = () => askAction({ actionClass: 'ticket', tool: 'open_ticket', arguments: {} });
      expect((await ticket()).answer.type).toBe('leash.actions.funded.v1');
      expect((await ticket()).answer.type).toBe('leash.actions.funded.v1');
      expect((await ticket()).answer.data).toMatchObject({ cap: 'tenant.day.class.ticket.count' });
      const transfer = (amountUsd: number) =>
        askAction({ actionClass: 'transfer', tool: 'transfer_funds', amountUsd });
      expect((await transfer(60)).answer.type).toBe('leash.actions.funded.v1');
      expect((await transfer(41)).answer.data).toMatchObject({
        cap: 'tenant.day.class.transfer.amount',
      });
      expect((await transfer(40)).answer.type).toBe('leash.actions.funded.v1');
    });

    it("holds the task's tool calls", async () => {
      await withCaps(roomyCaps({ task: { toolCalls: 2 } }));
      const taskId = 'busy-task';
      expect((await askAction({ taskId })).answer.type).toBe('leash.actions.funded.v1');
      expect((await askAction({ taskId })).answer.type).toBe('leash.actions.funded.v1');
      expect((await askAction({ taskId })).answer.data).toMatchObject({ cap: 'task.tool_calls' });
      expect((await askAction()).answer.type).toBe('leash.actions.funded.v1');
    });

    it('refuses an action of an amount-capped class that does not state its amount', async () => {
      await withCaps(
        roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 50_000 } } } }),
      );
      const { answer } = await askAction({ arguments: { sku: 'bolt' } });
      expect(answer.data).toMatchObject({
        code: 'unpriced',
        cap: 'tenant.day.class.purchase_order.amount',
      });
    });

    it('refuses a decision that expired before it reached budget', async () => {
      await withCaps(roomyCaps());
      const { answer } = await askAction({ expiresAt: T0 });
      expect(answer.data).toMatchObject({ gate: 'budget', code: 'expired' });
    });

    it('refuses an action of an agent whose profile it cannot find', async () => {
      await withCaps(roomyCaps());
      const { answer } = await askAction({ profile: testProfile(roomyCaps(), { name: 'ghost' }) });
      expect(answer.data).toMatchObject({ code: 'cap_exceeded', cap: 'task.profile' });
    });
  });

  describe('a decision the policy gate did not sign', () => {
    /** What a compromised budget could compute with its own key; GateSigner itself refuses to. */
    const budgetKeyAsPolicy = (): GateSigner =>
      ({
        sign: (fields: Record<string, unknown>, expiresAt: Date) => {
          const hash = canonicalHash({ ...fields, expiresAt: expiresAt.toISOString() });
          const key = importPrivateKey(BUDGET_KEY.signingKey);
          return {
            hash,
            signature: sign(null, Buffer.from(hash), key).toString('base64'),
            keyId: BUDGET_KEY.signingKey.id,
            expiresAt: expiresAt.toISOString(),
          };
        },
      }) as unknown as GateSigner;

    it.each([
      ['signed with a key of the right id that is not the gate’s', 'bad_signature'],
      [
        'signed with the budget gate’s own key, which the budget does not check with',
        'unknown_key',
      ],
    ])('%s: reserves nothing, grants nothing, and is refused', async (_, failure) => {
      await withCaps(roomyCaps());
      await registerTask('t1');
      const signer =
        failure === 'unknown_key'
          ? budgetKeyAsPolicy()
          : new GateSigner('policy', generateGateKey('policy-test').signingKey);
      const decided = decidedEvent(signer, h.clock, { taskId: 't1', amountUsd: 9_000 });
      await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });

      expect(await h.pendingOf('leash.actions.funded.v1')).toEqual([]);
      const [refused] = await h.pendingOf('leash.actions.rejected.v1');
      expect(refused).toMatchObject({
        source: 'budget',
        data: { actionId: decided.data.actionId, gate: 'budget', code: 'invalid_signature' },
      });
      expect(refused!.data.reason).toContain(`(${failure})`);
      expect(await h.reservation(`action:${decided.data.actionId}`)).toBeUndefined();
      expect((await counter('task:t1'))?.tallies['task.tool_calls']).toBeUndefined();

      // The genuine decision of the same action, arriving after, is funded.
      const genuine = decidedEvent(h.policy, h.clock, {
        taskId: 't1',
        actionId: decided.data.actionId,
        amountUsd: 9_000,
      });
      await h.useCases.decideBudgetRequest.execute({
        event: { ...actionRequestEvent(genuine), id: 'genuine' },
      });
      expect(await h.pendingOf('leash.actions.funded.v1')).toHaveLength(1);
    });
  });

  describe('idempotency', () => {
    it('books a redelivered request once and answers it once', async () => {
      await withCaps(roomyCaps());
      const decided = decidedEvent(h.policy, h.clock, { amountUsd: 9_000 });
      const request = actionRequestEvent(decided);
      await h.useCases.decideBudgetRequest.execute({ event: request });
      await h.useCases.decideBudgetRequest.execute({ event: request });
      expect(await h.pendingOf('leash.actions.funded.v1')).toHaveLength(1);
      const day = await counter('day:acme:2026-03-01');
      expect(day?.tallies['tenant.day.class.purchase_order.amount']?.reserved).toBe(9_000_000_000);
    });

    it('gives a request re-sent under a new event id the same answer, booking nothing', async () => {
      await withCaps(roomyCaps({ task: { tokens: 2_000 } }));
      await registerTask('t1');
      const first = modelRequestEvent(h.clock, {
        taskId: 't1',
        requestId: 'same',
        inputTokens: 1_500,
        outputTokens: 0,
      });
      const again = { ...first, id: 'another-event-id' };
      await h.useCases.decideBudgetRequest.execute({ event: first });
      // Even after the cap filled, the re-sent request is answered as it was first.
      await askModel('t1', { inputTokens: 400, outputTokens: 0 });
      await h.useCases.decideBudgetRequest.execute({ event: again });
      const answers = (await h.pendingOf('leash.budget.decided.v1')).filter(
        (d) => d.data.requestId === 'same',
      );
      expect(answers).toHaveLength(2);
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[0]?.data.granted).toBe(true);
      expect((await counter('task:t1'))?.tallies['task.tokens']?.reserved).toBe(1_900);
      expect(await h.engines.store.repository(BudgetReservation).count()).toBe(2);
    });
  });

  describe('alarms', () => {
    it('fires each configured fraction of a cap once per period', async () => {
      await withCaps(roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 100 } } } }));
      const order = (amountUsd: number) => askAction({ amountUsd });
      const alarmsOf = async () =>
        (await h.pendingOf('leash.budget.alarm.v1'))
          .filter((a) => a.data.cap === 'tenant.day.class.purchase_order.amount')
          .map((a) => [a.data.fraction, a.data.used, a.data.scopeKey]);
      await order(40);
      expect(await alarmsOf()).toEqual([]);
      await order(45); // 85%: both 50% and 80% are crossed by this one
      expect(await alarmsOf()).toEqual([
        [0.5, 85_000_000, 'acme:2026-03-01'],
        [0.8, 85_000_000, 'acme:2026-03-01'],
      ]);
      await order(5);
      await order(10); // exactly 100%
      await order(1); // refused: nothing more to fire
      expect((await alarmsOf()).map(([fraction]) => fraction)).toEqual([0.5, 0.8, 1]);
      // The next day is a new period.
      h.clock.advance(24 * 3_600_000);
      await order(60);
      expect((await alarmsOf()).map(([fraction, , key]) => `${fraction}@${key}`)).toEqual([
        '0.5@acme:2026-03-01',
        '0.8@acme:2026-03-01',
        '1@acme:2026-03-01',
        '0.5@acme:2026-03-02',
      ]);
      const [alarm] = await h.pendingOf('leash.budget.alarm.v1');
      expect(alarm).toMatchObject({
        tenantId: 'acme',
        data: { scope: 'tenant_day', unit: 'usd_micros', limit: 100_000_000 },
      });
    });

    it('uses the fractions the profile configures, per task', async () => {
      await withCaps(roomyCaps({ task: { tokens: 1_000 }, alarms: [0.9] }));
      await registerTask('t1');
      await askModel('t1', { inputTokens: 850, outputTokens: 0 });
      await askModel('t1', { inputTokens: 100, outputTokens: 0 });
      await askModel('t1', { inputTokens: 10, outputTokens: 0 });
      const alarms = (await h.pendingOf('leash.budget.alarm.v1')).filter(
        (a) => a.data.cap === 'task.tokens',
      );
      expect(alarms.map((a) => a.data)).toEqual([
        {
          cap: 'task.tokens',
          scope: 'task',
          scopeKey: 't1',
          unit: 'tokens',
          fraction: 0.9,
          used: 950,
          limit: 1_000,
          taskId: 't1',
        },
      ]);
    });
  });
});
