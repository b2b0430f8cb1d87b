import type { KillScope, KillV1 } from '@leash/contracts';
import { KillSwitch } from '@leash/kill-switch';
import { BudgetCounter, BudgetReservation } from '../ledger/ledger.aggregates';
import { createLedgerUseCases, type LedgerUseCases } from '../ledger/ledger.factory';
import {
  T0,
  actionRequestEvent,
  decidedEvent,
  modelRequestEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  testProfile,
  type Harness,
} from '../test/ledger-harness';

describe('DecideBudgetRequestUseCase under the kill switch', () => {
  let h: Harness;
  let killSwitch: KillSwitch;
  let useCases: LedgerUseCases;

  beforeEach(async () => {
    h = await openHarness();
    h.profiles.add(testProfile(roomyCaps()));
    killSwitch = new KillSwitch({ store: h.engines.store, service: 'budget', instance: 'spec' });
    useCases = createLedgerUseCases({ ...h.deps, killSwitch });
  });

  afterEach(() => h.close());

  const kill = (scope: KillScope): KillV1 => ({
    commandId: 'kill-1',
    scope,
    reason: 'runaway purchase orders',
    rollback: false,
    issuedBy: 'oncall@acme.example',
    issuedAt: new Date(T0).toISOString(),
  });

  async function counters() {
    return (await h.engines.store.repository(BudgetCounter).find()).map((c) => c.id);
  }

  it('reserves nothing for an action in scope and rejects it on actions.rejected, code killed', async () => {
    await killSwitch.apply(kill({ kind: 'agent', agent: 'procurement' }));
    const decided = decidedEvent(h.policy, h.clock, { amountUsd: 9_000 });
    await useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });

    const [answer, ...rest] = await h.pending();
    expect(rest).toEqual([]);
    expect(answer).toMatchObject({
      type: 'leash.actions.rejected.v1',
      data: { actionId: decided.data.actionId, gate: 'budget', code: 'killed' },
    });
    const reason = (answer!.data as { reason: string }).reason;
    expect(reason).toContain('agent procurement');
    expect(reason).toContain('runaway purchase orders');
    expect(await counters()).toEqual([]);
    const reservation = await h.engines.store
      .repository(BudgetReservation)
      .get(`action:${decided.data.actionId}`);
    expect(reservation?.doc).toMatchObject({
      status: 'refused',
      reservedUsdMicros: 0,
      refusal: { code: 'killed' },
    });
  });

  it('refuses a model call in scope on budget.decisions, granted false with the reason', async () => {
    await useCases.registerTask.execute({ event: taskRequestedEvent({ taskId: 't1' }) });
    await killSwitch.apply(kill({ kind: 'task', taskId: 't1' }));
    const event = modelRequestEvent(h.clock, { taskId: 't1', requestId: 'r1' });
    await useCases.decideBudgetRequest.execute({ event });
    const [answer] = await h.pendingOf('leash.budget.decided.v1');
    expect(answer?.data).toMatchObject({ requestId: 'r1', kind: 'model', granted: false });
    expect(answer?.data.reservationId).toBeUndefined();
    expect(answer?.data.reason).toContain('task t1');
    expect(await counters()).toEqual([]);
  });

  it('answers a redelivered killed request the same way, even after the resume', async () => {
    await killSwitch.apply(kill({ kind: 'tenant', tenantId: 'acme' }));
    const request = actionRequestEvent(decidedEvent(h.policy, h.clock));
    await useCases.decideBudgetRequest.execute({ event: request });
    await killSwitch.resume({
      commandId: 'resume-1',
      scope: { kind: 'tenant', tenantId: 'acme' },
      reason: 'fixed',
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0 + 1).toISOString(),
    });
    await useCases.decideBudgetRequest.execute({ event: { ...request, id: 'again' } });
    const answers = await h.pending();
    expect(answers.map((a) => [a.type, a.id])).toEqual([
      ['leash.actions.rejected.v1', `answer:${request.data.requestId}`],
      ['leash.actions.rejected.v1', `answer:${request.data.requestId}`],
    ]);
  });

  it('funds requests outside the scope, and in it again after the resume', async () => {
    await killSwitch.apply(kill({ kind: 'tenant', tenantId: 'globex' }));
    const acme = decidedEvent(h.policy, h.clock, { tenantId: 'acme' });
    await useCases.decideBudgetRequest.execute({ event: actionRequestEvent(acme) });
    await killSwitch.resume({
      commandId: 'resume-1',
      scope: { kind: 'tenant', tenantId: 'globex' },
      reason: 'fixed',
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0 + 1).toISOString(),
    });
    const globex = decidedEvent(h.policy, h.clock, { tenantId: 'globex' });
    await useCases.decideBudgetRequest.execute({ event: actionRequestEvent(globex) });
    expect((await h.pending()).map((a) => a.type)).toEqual([
      'leash.actions.funded.v1',
      'leash.actions.funded.v1',
    ]);
  });
});
