import { IT_HELPDESK_PROFILE } from '@leash/agents';
import { median } from './cost-guard';
import { RELEASE_OUTCOMES } from '../watch-canary/release-outcome.aggregate';
import {
  MapProfiles,
  RecordingTestModel,
  openLoopHarness,
  type LoopHarness,
} from '../test/loop-harness';

/*
 * Cost runaway, caught early: with the agent's typical task at $0.40 (the
 * median of its last finished tasks), a task that reaches 10x raises one
 * alarm and goes on, and at 50x it stops; a fallback model takes over once a
 * share of the task's budget is spent.
 */

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([])).toBeUndefined();
    expect(median([5])).toBe(5);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('the cost guard', () => {
  let h: LoopHarness;
  afterEach(() => h?.close());

  /** Every turn calls search_kb and costs `usdPerTurn` (the harness prices `scripted` at $1 per 1M input tokens). */
  function spender(usdPerTurn: number) {
    return new RecordingTestModel((request) => ({
      message: {
        toolCalls: [
          {
            id: `c${request.messages.length}`,
            name: 'search_kb',
            arguments: JSON.stringify({ query: `q${request.messages.length}`, limit: 1 }),
          },
        ],
      },
      usage: { inputTokens: Math.round(usdPerTurn * 1_000_000), outputTokens: 0 },
      model: request.model,
    }));
  }

  async function seedOutcomes(count: number, usdMicros: number) {
    for (let i = 0; i < count; i += 1) {
      await h.engines.store.repository(RELEASE_OUTCOMES).insert({
        taskId: `past-${i}`,
        agent: 'it-helpdesk',
        release: 1,
        status: 'succeeded',
        usdMicros,
        durationMs: 1_000,
        proposed: 1,
        policyDenials: 0,
        finishedAt: new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString(),
      });
    }
  }

  /** Grants the next model call, then completes the action it proposed. */
  async function turn(taskId: string) {
    await h.decide(taskId);
    const task = await h.task(taskId);
    for (const call of task.turn)
      if (call.actionId) await h.complete(call.actionId, { articles: [] });
  }

  const input = { id: 'spend', agent: 'it-helpdesk', input: 'My VPN keeps dropping' };

  it('alarms once at 10x the typical task, then stops the task at 50x', async () => {
    h = await openLoopHarness({ model: spender(4) });
    await seedOutcomes(20, 400_000);
    const taskId = await h.start(input);

    await turn(taskId); // $4: 10x
    let alarms = await h.events('leash.tasks.cost_alarm.v1');
    expect(alarms.map((a) => a.data)).toEqual([
      expect.objectContaining({
        action: 'alarm',
        costUsdMicros: 4_000_000,
        typicalUsdMicros: 400_000,
        sample: 20,
        multiple: 10,
        alarmMultiple: 10,
        stopMultiple: 50,
      }),
    ]);
    expect((await h.task(taskId)).status).toBe('running');

    for (let i = 0; i < 3; i += 1) await turn(taskId); // $16: no second alarm
    expect(await h.events('leash.tasks.cost_alarm.v1')).toHaveLength(1);
    expect((await h.task(taskId)).status).toBe('running');

    await turn(taskId); // $20: 50x
    alarms = await h.events('leash.tasks.cost_alarm.v1');
    expect(alarms.map((a) => a.data.action)).toEqual(['alarm', 'stop']);
    const task = await h.task(taskId);
    expect(task.status).toBe('limit_exceeded');
    expect(task.reason).toBe(
      "cost runaway: the task costs $20.00, 50.0x this agent's typical task ($0.40, the median of its last 20); it stops at 50x",
    );
    const [finished] = await h.events('leash.tasks.finished.v1');
    expect(finished!.data.trajectory.map((s) => s.summary)).toContainEqual(
      expect.stringMatching(/^cost alarm: the task costs \$4\.00, 10\.0x/),
    );
  });

  it('waits for the sample it needs before judging a task', async () => {
    h = await openLoopHarness({ model: spender(100) });
    await seedOutcomes(19, 400_000);
    const taskId = await h.start(input);
    await turn(taskId); // 250x, but 19 finished tasks are not yet a typical cost
    expect(await h.events('leash.tasks.cost_alarm.v1')).toEqual([]);
    expect((await h.task(taskId)).status).toBe('running');
  });

  it("switches to the profile's fallback model once a share of the budget is spent, and says so", async () => {
    const model = spender(0.2);
    const profiles = new MapProfiles([
      {
        ...IT_HELPDESK_PROFILE,
        caps: { ...IT_HELPDESK_PROFILE.caps, task: { ...IT_HELPDESK_PROFILE.caps.task, usd: 1 } },
        fallbackModel: { model: 'gpt-4o-mini', atBudgetFraction: 0.5 },
      },
    ]);
    h = await openLoopHarness({ model, loop: { profiles } });
    const taskId = await h.start(input);
    await turn(taskId); // $0.20
    await turn(taskId); // $0.40
    expect(await h.events('leash.tasks.model_switched.v1')).toEqual([]);
    await turn(taskId); // $0.60: past half of $1
    const switched = await h.events('leash.tasks.model_switched.v1');
    expect(switched.map((e) => e.data)).toEqual([
      expect.objectContaining({
        from: 'scripted',
        to: 'gpt-4o-mini',
        spentUsdMicros: 600_000,
        budgetUsdMicros: 1_000_000,
        atBudgetFraction: 0.5,
      }),
    ]);
    await h.decide(taskId);
    expect(model.requests.map((r) => r.model)).toEqual([
      'scripted',
      'scripted',
      'scripted',
      'gpt-4o-mini',
    ]);
    // The reservation of the next call is booked under the fallback too.
    const requested = await h.events('leash.budget.requested.v1');
    expect(requested.at(-1)!.data).toMatchObject({ model: 'gpt-4o-mini' });
  });
});
