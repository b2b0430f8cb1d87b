import { ReleaseCatalog } from '@leash/agents';
import { waitFor } from '@leash/testing';
import { GOLDEN_SCENARIOS, goldenTenant } from '../eval/golden-set';
import { LeashUnderTest } from '../eval/leash-under-test';
import { runCli } from '../cli';
import type { Terminal } from '../cli/terminal';
import { recordedWhole } from '../replay/recorded-run';
import { replayRuns } from '../replay/replay-runs';

/*
 * Counterfactual replay against the audit of a real run: every golden task
 * replayed with no change gives back its recorded trajectory exactly, and a
 * changed policy is reported where the trajectory first differs.
 */

describe('leash replay', () => {
  let system: LeashUnderTest;
  const taskIds: string[] = [];

  beforeAll(async () => {
    system = await LeashUnderTest.start({ tenants: GOLDEN_SCENARIOS.map(goldenTenant) });
    for (const scenario of GOLDEN_SCENARIOS) {
      taskIds.push(
        await system.submit(scenario, {
          tenantId: goldenTenant(scenario),
          taskId: `golden-${scenario.id}`,
        }),
      );
    }
    await system.finished(taskIds, 120_000);
    // The audit recorder is a consumer of its own: wait until it has every run whole.
    await waitFor(async () => (await recordedWhole(system.store, taskIds)) || undefined, {
      timeoutMs: 30_000,
      description: 'the audit to record every golden run whole',
    });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('gives back every golden task recorded trajectory exactly when nothing changes', async () => {
    const report = await replayRuns(system.store, taskIds);
    expect(report.runs).toHaveLength(GOLDEN_SCENARIOS.length);
    const notSame = report.runs.filter((run) => run.verdict.kind !== 'same');
    expect(notSame.map((run) => `${run.taskId}: ${run.verdict.line}`)).toEqual([]);
    for (const run of report.runs) {
      expect(run.divergence).toBeUndefined();
      expect(run.gaps).toEqual([]);
      expect(run.modelAskedFrom).toBeUndefined();
      expect({ task: run.taskId, steps: run.replayed.steps }).toEqual({
        task: run.taskId,
        steps: run.recorded.steps,
      });
      expect(run.replayed.status).toBe(run.recorded.status);
      expect(run.replayed.answer).toBe(run.recorded.answer);
      expect({ task: run.taskId, tokens: run.replayed.inputTokens, turns: run.turns }).toEqual({
        task: run.taskId,
        tokens: run.recorded.inputTokens,
        turns: run.turns,
      });
      // Every model turn came from the recording: no model was asked.
      expect(run.turns.answered).toBe(run.turns.recorded);
      expect(run.turns.recorded).toBeGreaterThan(0);
    }
  }, 180_000);

  it('reports a changed policy at the step whose gate decision changed', async () => {
    const taskId = 'golden-it-helpdesk.wifi-ticket';
    const view = await new ReleaseCatalog(system.store).release('it-helpdesk', 1);
    const cedar = view!.policy.cedar!;
    const permit = 'permit (principal, action == Action::"open_ticket", resource);';
    expect(cedar).toContain(permit);
    const report = await replayRuns(system.store, [taskId], {
      change: {
        policy: cedar.replace(
          permit,
          'forbid (principal, action == Action::"open_ticket", resource);',
        ),
      },
    });
    const [run] = report.runs;
    const ticketStep = run!.recorded.steps.find((s) => s.tool === 'open_ticket')!;
    expect(ticketStep.outcome).toBe('ran (succeeded)');
    const replayedTicket = run!.replayed.steps.find((s) => s.tool === 'open_ticket')!;
    expect(replayedTicket.outcome).toBe('refused by policy (policy_denied)');
    expect(run!.divergence).toMatchObject({ kind: 'observation', step: ticketStep.step });
    expect(run!.verdict.step).toBe(ticketStep.step);
    expect(run!.verdict.kind).not.toBe('same');
  }, 120_000);

  it('replays from the command line: leash replay TASK_ID --json', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = { out: (l) => out.push(l), err: (l) => err.push(l) };
    const env = {
      LOG_LEVEL: 'error',
      LEASH_BUS_FILE: `${system.dir}/bus.db`,
      LEASH_STORE_FILE: `${system.dir}/store.db`,
    };
    const code = await runCli(['replay', 'golden-support.send-reply', '--json'], env, terminal);
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const report = JSON.parse(out.join('\n')) as {
      runs: { taskId: string; verdict: { kind: string } }[];
      summary: { runs: number; changed: number };
    };
    expect(report.runs).toEqual([
      expect.objectContaining({
        taskId: 'golden-support.send-reply',
        verdict: { kind: 'same', line: 'same' },
      }),
    ]);
    expect(report.summary).toMatchObject({ runs: 1, changed: 0 });
    expect(await runCli(['replay', 'no-such-task'], env, terminal)).toBe(1);
    expect(err.at(-1)).toContain('the audit has no task no-such-task');
  }, 60_000);
});
