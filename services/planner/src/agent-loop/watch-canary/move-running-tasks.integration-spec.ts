import { AgentProfile, SUPPORT_AGENT, SUPPORT_SCENARIOS } from '@leash/agents';
import type { ReleaseRoutedV1 } from '@leash/contracts';
import { scenarioTask } from '../scenarios/reference-scenarios';
import { MapProfiles, openLoopHarness, type LoopHarness } from '../test/loop-harness';

/*
 * `leash release rollback --move-running`: running tasks of the release left
 * behind go on under the current one from their next step; without the flag,
 * and for tasks already on a release the routing keeps, nothing moves.
 */
describe('moving running tasks on a rollback', () => {
  let harness: LoopHarness;
  const v2 = AgentProfile.parse({
    ...SUPPORT_AGENT.profile,
    version: 2,
    model: 'gpt-4o',
    maxSteps: 9,
  });

  beforeEach(async () => {
    harness = await openLoopHarness({
      loop: { profiles: new MapProfiles([SUPPORT_AGENT.profile, v2]), modelName: (p) => p.model },
    });
  });
  afterEach(() => harness.engines.close());

  async function startOn(version: number, taskId: string): Promise<void> {
    const event = scenarioTask(SUPPORT_SCENARIOS[0]!, { tenantId: 'acme', taskId, source: 'test' });
    (event.data as { agentVersion?: number }).agentVersion = version;
    await harness.loop.startTask.execute({ event });
  }

  const rollback = (moveRunning: boolean): ReleaseRoutedV1 => ({
    agent: 'support',
    change: 'rollback',
    release: 2,
    current: 1,
    history: [],
    moveRunning,
    reason: 'bad release',
    by: 'ops',
    at: '2026-03-01T12:00:00.000Z',
  });

  it('moves the tasks of the release left behind, and only with --move-running', async () => {
    await startOn(2, 'on-2');
    await startOn(1, 'on-1');
    const before = await harness.task('on-2');
    expect(before).toMatchObject({
      status: 'running',
      agent: { version: 2 },
      model: 'gpt-4o',
      maxSteps: 9,
    });

    expect(await harness.loop.moveRunningTasks.execute(rollback(false))).toEqual([]);
    expect((await harness.task('on-2')).agent.version).toBe(2);

    expect(await harness.loop.moveRunningTasks.execute(rollback(true))).toEqual(['on-2']);
    const moved = await harness.task('on-2');
    expect(moved).toMatchObject({
      status: 'running',
      agent: { name: 'support', version: 1 },
      model: SUPPORT_AGENT.profile.model,
      maxSteps: SUPPORT_AGENT.profile.maxSteps,
      versions: { profile: 1, model: SUPPORT_AGENT.profile.model },
    });
    // What it did stays: the conversation after the system prompt is as it was.
    expect(moved.messages.slice(1)).toEqual(before.messages.slice(1));
    expect(moved.trajectory).toEqual(before.trajectory);

    // Moving again moves nothing; the task already on @1 never moved.
    expect(await harness.loop.moveRunningTasks.execute(rollback(true))).toEqual([]);
    expect((await harness.task('on-1')).agent.version).toBe(1);
  });
});
