import { createEnvelope, type Envelope } from '@leash/contracts';
import { approvalIdFor, approvalRequests } from '../gate/approvals.aggregates';
import { fundedEvent, openHarness, verdictOn, type Harness } from '../test/approvals-harness';

describe('CloseTaskApprovalsUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  const finished = (taskId: string, tenantId = 'acme'): Envelope<'leash.tasks.finished.v1'> =>
    createEnvelope(
      'leash.tasks.finished.v1',
      {
        taskId,
        agent: { name: 'support', version: 1 },
        status: 'killed',
        reason: 'killed by ops: hold refunds',
        trajectory: [],
        cost: { usdMicros: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0 },
        versions: {},
        startedAt: new Date(h.clock.now()).toISOString(),
        finishedAt: new Date(h.clock.now()).toISOString(),
      },
      { source: 'planner', tenantId, taskId },
    );

  async function request(taskId: string, actionId: string, tenantId = 'acme') {
    await h.gate.requestApproval.execute({
      event: fundedEvent(h.upstream, h.clock, { taskId, actionId, tenantId }),
    });
    const requested = await h.pendingOf('leash.approvals.requested.v1');
    return requested.find((e) => e.data.actionId === actionId)!;
  }

  const statusOf = async (approvalId: string) =>
    (await h.engines.store.repository(approvalRequests).get(approvalId))?.doc.status;

  it("cancels the finished task's pending requests, rejects their actions, and refuses later verdicts", async () => {
    const first = await request('task-k', 'refund-1');
    const second = await request('task-k', 'refund-2');
    const other = await request('task-other', 'refund-3');

    const closed = await h.gate.closeTaskApprovals.execute({ event: finished('task-k') });
    expect(closed.sort()).toEqual(
      [approvalIdFor('acme', 'refund-1', 0), approvalIdFor('acme', 'refund-2', 0)].sort(),
    );
    expect(await statusOf(first.data.approvalId)).toBe('cancelled');
    expect(await statusOf(second.data.approvalId)).toBe('cancelled');
    expect(await statusOf(other.data.approvalId)).toBe('pending');

    const rejected = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected.map((e) => [e.data.actionId, e.data.gate, e.data.code]).sort()).toEqual([
      ['refund-1', 'approvals', 'task_finished'],
      ['refund-2', 'approvals', 'task_finished'],
    ]);
    expect(rejected[0]!.data.reason).toContain('the task finished (killed');

    await expect(
      h.gate.recordVerdict.execute({
        event: verdictOn(first, 'alice@acme.example', { verdict: 'approve' }),
      }),
    ).resolves.toMatchObject({ outcome: 'refused', refusal: 'closed' });
    expect(await h.pendingOf('leash.actions.authorized.v1')).toEqual([]);
  });

  it('refuses an action of the task funded after it finished, asking nobody', async () => {
    await h.gate.closeTaskApprovals.execute({ event: finished('task-late') });
    const late = fundedEvent(h.upstream, h.clock, { taskId: 'task-late', actionId: 'refund-late' });
    await expect(h.gate.requestApproval.execute({ event: late })).resolves.toBe('rejected');
    expect(await h.pendingOf('leash.approvals.requested.v1')).toEqual([]);
    const [rejected] = await h.pendingOf('leash.actions.rejected.v1');
    expect(rejected?.data).toMatchObject({ actionId: 'refund-late', code: 'task_finished' });
    // Writing that refusal into the task's history keeps the mark: the next one is refused too.
    const later = fundedEvent(h.upstream, h.clock, {
      taskId: 'task-late',
      actionId: 'refund-later',
    });
    await expect(h.gate.requestApproval.execute({ event: later })).resolves.toBe('rejected');
    // Another task of the tenant is asked as usual.
    await expect(
      h.gate.requestApproval.execute({
        event: fundedEvent(h.upstream, h.clock, { taskId: 'task-live', actionId: 'refund-live' }),
      }),
    ).resolves.toBe('requested');
  });

  it('does nothing again for a redelivered event, nor for a task of another tenant', async () => {
    const mine = await request('task-k', 'refund-1');
    const event = finished('task-k');
    await h.gate.closeTaskApprovals.execute({ event });
    await expect(h.gate.closeTaskApprovals.execute({ event })).resolves.toEqual([]);
    expect(await h.pendingOf('leash.actions.rejected.v1')).toHaveLength(1);

    // Same task id, another tenant: not this request.
    const again = await request('task-t', 'refund-2');
    await expect(
      h.gate.closeTaskApprovals.execute({ event: finished('task-t', 'globex') }),
    ).resolves.toEqual([]);
    expect(await statusOf(again.data.approvalId)).toBe('pending');
    expect(await statusOf(mine.data.approvalId)).toBe('cancelled');
  });
});
