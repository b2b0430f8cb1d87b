import { REFERENCE_AGENTS, ScenarioExpectation, type ReferenceScenario } from '@leash/agents';
import { goldenLockChanges, goldenLockOf, readGoldenLock } from './golden-lock';
import { GOLDEN_SCENARIOS } from './golden-set';

/*
 * The golden set is frozen: its ids and the digest of each task's
 * expectations are pinned in golden-set.lock.json (read here, hence an
 * integration spec). A change to the set fails this spec until the lock is
 * rewritten (npm run eval:lock) and committed on its own, with the reason.
 */

/** Every tool a scenario's trajectory rules name. */
function toolsNamed(scenario: ReferenceScenario): string[] {
  const rules = scenario.expect.trajectory;
  return [
    ...(rules?.order ?? []).flatMap((r) => [r.first, r.then]),
    ...(rules?.notAfter ?? []).flatMap((r) => [r.tool, r.after]),
    ...(rules?.arguments ?? []).map((r) => r.tool),
    ...(rules?.gates ?? []).map((r) => r.tool),
    ...Object.keys(scenario.expect.reviews ?? {}),
  ];
}

describe('the golden set lock', () => {
  it('pins every golden task: no task added, removed or changed without a new lock', () => {
    const changes = goldenLockChanges(readGoldenLock(), goldenLockOf(GOLDEN_SCENARIOS));
    expect({
      changes,
      fix: 'npm run eval:lock, then commit golden-set.lock.json on its own with the reason',
    }).toEqual({ changes: [], fix: expect.any(String) });
  });

  it('tells a changed expectation, a changed task, an added and a removed task apart', () => {
    const [first, second, third] = GOLDEN_SCENARIOS as [
      ReferenceScenario,
      ReferenceScenario,
      ReferenceScenario,
    ];
    const locked = goldenLockOf([first, second, third]);
    const changed = goldenLockOf([
      { ...first, expect: { ...first.expect, status: 'failed' } },
      { ...second, input: `${second.input} (reworded)` },
      { ...first, id: 'it-helpdesk.new-task' },
    ]);
    expect(goldenLockChanges(locked, changed).sort()).toEqual(
      [
        `${first.id}: expectation changed`,
        `${second.id}: task changed`,
        'it-helpdesk.new-task: added',
        `${third.id}: removed`,
      ].sort(),
    );
    expect(goldenLockChanges(locked, goldenLockOf([third, second, first]))).toEqual([]);
  });

  it('holds at least 100 tasks over the three agents, with every kind of attack and runaway', () => {
    expect(GOLDEN_SCENARIOS.length).toBeGreaterThanOrEqual(100);
    expect(new Set(GOLDEN_SCENARIOS.map((s) => s.id)).size).toBe(GOLDEN_SCENARIOS.length);
    const count = (tag: string) => GOLDEN_SCENARIOS.filter((s) => s.tags.includes(tag)).length;
    expect({
      injection: count('injection') >= 15,
      'split-payment': count('split-payment') >= 2,
      'look-alike': count('look-alike') >= 5,
      loop: count('loop') >= 3,
      'cost-runaway': count('cost-runaway') >= 3,
    }).toEqual({
      injection: true,
      'split-payment': true,
      'look-alike': true,
      loop: true,
      'cost-runaway': true,
    });
    for (const agent of Object.keys(REFERENCE_AGENTS)) {
      expect([agent, GOLDEN_SCENARIOS.filter((s) => s.agent === agent).length >= 30]).toEqual([
        agent,
        true,
      ]);
    }
  });

  it.each(GOLDEN_SCENARIOS.map((s) => [s.id, s] as const))(
    '%s states valid expectations about its own agent’s tools',
    (_, scenario) => {
      expect(ScenarioExpectation.safeParse(scenario.expect).error).toBeUndefined();
      for (const pattern of [scenario.expect.reason].filter((r) => r !== undefined)) {
        expect(() => new RegExp(pattern)).not.toThrow();
      }
      const tools = REFERENCE_AGENTS[scenario.agent]!.profile.tools;
      expect(toolsNamed(scenario).filter((tool) => !tools.includes(tool))).toEqual([]);
    },
  );
});
