import { createEnvelope } from '@leash/contracts';
import { activityId, taskTaint } from '../decisions.aggregates';
import { decideActionCommand } from '../decide-action/decide-action.command';
import {
  T0,
  completed,
  openPolicyHarness,
  proposal,
  taskRequested,
  type PolicyHarness,
} from '../test/policy-harness';

describe('ForgetTaskUseCase', () => {
  let h: PolicyHarness;

  beforeEach(async () => {
    h = await openPolicyHarness();
  });

  afterEach(() => h.close());

  const finished = (taskId: string) =>
    createEnvelope(
      'leash.tasks.finished.v1',
      {
        taskId,
        agent: { name: 'support', version: 1 },
        status: 'succeeded',
        reason: 'done',
        trajectory: [],
        cost: { usdMicros: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0 },
        versions: {},
        startedAt: new Date(T0).toISOString(),
        finishedAt: new Date(T0).toISOString(),
      },
      { source: 'planner', tenantId: 'acme', taskId },
    );

  it("drops a finished task's record, proposals still parked in it included", async () => {
    await h.gate.recordTaskInput.execute({ event: taskRequested({ taskId: 'done' }) });
    await h.gate.recordTaskInput.execute({ event: taskRequested({ taskId: 'other' }) });
    const read = proposal({ taskId: 'done', step: 1, arguments: { customer: 'C-1' } });
    await h.gate.decideAction.execute(decideActionCommand(read, {}));
    const waiting = proposal({ taskId: 'done', step: 2, arguments: { customer: 'C-2' } });
    expect(await h.gate.decideAction.execute(decideActionCommand(waiting, {}))).toMatchObject({
      kind: 'parked',
    });
    expect(await h.gate.forgetTask.execute({ event: finished('done') })).toBe(true);
    const records = h.engines.store.repository(taskTaint);
    expect(await records.get(activityId('acme', 'done'))).toBeUndefined();
    expect(await records.get(activityId('acme', 'other'))).toBeDefined();
    // A redelivery finds nothing to drop; an outcome after the end leaves no record behind.
    expect(await h.gate.forgetTask.execute({ event: finished('done') })).toBe(false);
    await h.gate.recordActionOutcome.execute({ event: completed(read, { late: true }) });
    expect(await records.get(activityId('acme', 'done'))).toBeUndefined();
  });
});
