import { BudgetTask } from '../ledger/ledger.aggregates';
import { openHarness, taskRequestedEvent, type Harness } from '../test/ledger-harness';

describe('RegisterTaskUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
  });

  afterEach(() => h.close());

  it("remembers a task's agent and pinned version; the first registration wins", async () => {
    await h.useCases.registerTask.execute({
      event: taskRequestedEvent({ taskId: 't1', agent: 'support', agentVersion: 3 }),
    });
    await h.useCases.registerTask.execute({
      event: taskRequestedEvent({ taskId: 't1', agent: 'other' }),
    });
    const task = await h.engines.store.repository(BudgetTask).get('t1');
    expect(task?.doc).toEqual({
      taskId: 't1',
      tenantId: 'acme',
      agent: 'support',
      agentVersion: 3,
    });
  });
});
