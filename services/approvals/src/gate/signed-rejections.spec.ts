import { createEnvelope, type Envelope } from '@leash/contracts';
import { generateGateKey, rejectionFields, type Verification } from '@leash/signing';
import {
  GATE_KEYS,
  fundedEvent,
  openHarness,
  upstreamSigners,
  verdictOn,
  type FundedOptions,
  type Harness,
} from '../test/approvals-harness';

const ALICE = 'alice@acme.example';
const MINUTE = 60_000;

/*
 * The rejections that tell the budget an action never ran, so it frees the
 * reservation, carry the approvals gate's signature over the action and the
 * code; its refusals of what it never put to reviewers do not.
 */
describe("the approvals gate's signed rejections", () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  async function requested(
    options: FundedOptions = {},
  ): Promise<Envelope<'leash.approvals.requested.v1'>> {
    const funded = fundedEvent(h.upstream, h.clock, options);
    await h.gate.requestApproval.execute({ event: funded });
    const all = await h.pendingOf('leash.approvals.requested.v1');
    return all.find((e) => e.data.actionId === funded.data.actionId)!;
  }

  async function rejectionOf(actionId: string): Promise<Envelope<'leash.actions.rejected.v1'>> {
    const all = await h.pendingOf('leash.actions.rejected.v1');
    return all.find((e) => e.data.actionId === actionId)!;
  }

  /** What the budget checks: the approvals public key, over the action as funded. */
  function check(
    event: Envelope<'leash.actions.rejected.v1'>,
    args: Record<string, unknown> = { orderId: 'o-42', amountUsd: 250 },
  ): Verification {
    const fields = rejectionFields(
      {
        tenantId: event.tenantId!,
        taskId: event.taskId!,
        actionId: event.data.actionId,
        tool: event.data.tool,
        arguments: args,
      },
      event.data.code,
    );
    return h.verifier.verify(fields, event.data.signed!);
  }

  it('signs a reviewer’s rejection and an edit', async () => {
    const rejected = await requested({ actionId: 'refund-no' });
    await h.gate.recordVerdict.execute({
      event: verdictOn(rejected, ALICE, { verdict: 'reject', feedback: 'duplicate' }),
    });
    const edited = await requested({ actionId: 'refund-edit' });
    await h.gate.recordVerdict.execute({
      event: verdictOn(edited, ALICE, {
        verdict: 'edit',
        arguments: { orderId: 'o-42', amountUsd: 125 },
      }),
    });
    const no = await rejectionOf('refund-no');
    expect(no.data).toMatchObject({
      code: 'approval_rejected',
      signed: { keyId: 'approvals-test' },
    });
    expect(check(no)).toEqual({ ok: true });
    const edit = await rejectionOf('refund-edit');
    expect(edit.data.code).toBe('edited');
    // Over the action as funded, not the edited arguments: that is the reservation it frees.
    expect(check(edit)).toEqual({ ok: true });
    expect(check(edit, { orderId: 'o-42', amountUsd: 125 }).ok).toBe(false);
  });

  it('signs an expiry and a cancellation with the task', async () => {
    await requested({ actionId: 'refund-silent' });
    h.clock.advance(2 * 60 * MINUTE);
    await h.gate.expireApprovals.execute();
    expect(check(await rejectionOf('refund-silent'))).toEqual({ ok: true });

    await requested({ taskId: 'task-k', actionId: 'refund-k' });
    await h.gate.closeTaskApprovals.execute({ event: finished('task-k') });
    const cancelled = await rejectionOf('refund-k');
    expect(cancelled.data.code).toBe('task_finished');
    expect(check(cancelled)).toEqual({ ok: true });
  });

  it('vouches for nothing it could not check: a forged action of a finished task is refused unsigned', async () => {
    await requested({ taskId: 'task-done', actionId: 'refund-first' });
    await h.gate.closeTaskApprovals.execute({ event: finished('task-done') });
    const forger = upstreamSigners({
      policy: generateGateKey(GATE_KEYS.policy.signingKey.id),
      budget: generateGateKey(GATE_KEYS.budget.signingKey.id),
      approvals: GATE_KEYS.approvals,
    });
    const forged = fundedEvent(h.upstream, h.clock, {
      taskId: 'task-done',
      actionId: 'refund-forged',
      forgedBy: forger,
    });
    await h.gate.requestApproval.execute({ event: forged });
    const refused = await rejectionOf('refund-forged');
    expect(refused.data.code).toBe('task_finished');
    expect(refused.data.signed).toBeUndefined();
    // A genuine action arriving after its task finished: checked, so signed; it never runs.
    const late = fundedEvent(h.upstream, h.clock, { taskId: 'task-done', actionId: 'refund-late' });
    await h.gate.requestApproval.execute({ event: late });
    expect((await rejectionOf('refund-late')).data).toMatchObject({ code: 'task_finished' });
    expect(check(await rejectionOf('refund-late'))).toEqual({ ok: true });
  });

  const finished = (taskId: string): Envelope<'leash.tasks.finished.v1'> =>
    createEnvelope(
      'leash.tasks.finished.v1',
      {
        taskId,
        agent: { name: 'support', version: 1 },
        status: 'killed',
        reason: 'killed by ops',
        trajectory: [],
        cost: { usdMicros: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0 },
        versions: {},
        startedAt: new Date(h.clock.now()).toISOString(),
        finishedAt: new Date(h.clock.now()).toISOString(),
      },
      { source: 'planner', tenantId: 'acme', taskId },
    );
});
