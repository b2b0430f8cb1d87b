import type { GoldenReport } from './golden-set';
import { formatPassK, passK } from './pass-k';

/** A run in which the named tasks passed and the others failed. */
function run(tasks: readonly string[], passed: readonly string[]): GoldenReport {
  const results = tasks.map((id) => ({ scenario: { id }, passed: passed.includes(id) }));
  return {
    results,
    passed: results.filter((r) => r.passed).length,
  } as unknown as GoldenReport;
}

describe('pass^k', () => {
  const tasks = ['a', 'b', 'c', 'd'];

  it('counts a task only when it passes every run; pass^1 is the mean single-run rate', () => {
    const result = passK([
      run(tasks, ['a', 'b', 'c', 'd']),
      run(tasks, ['a', 'b', 'c']),
      run(tasks, ['a', 'b', 'd']),
      run(tasks, ['a', 'b', 'c', 'd']),
      run(tasks, ['a', 'c', 'd']),
    ]);
    expect(result).toEqual({
      k: 5,
      tasks: 4,
      passAt1: (4 + 3 + 3 + 4 + 3) / 4 / 5,
      passK: 1 / 4,
      flaky: [
        { task: 'b', passes: 4 },
        { task: 'c', passes: 4 },
        { task: 'd', passes: 4 },
      ],
    });
    expect(formatPassK(result)).toEqual([
      'pass^1 85.0%, pass^5 25.0% over 4 tasks, 5 runs each',
      '  passed 4 of 5: b',
      '  passed 4 of 5: c',
      '  passed 4 of 5: d',
    ]);
  });

  it('is pass^1 itself with one run, and leaves a task that never passes out of the flaky ones', () => {
    const result = passK([run(tasks, ['a', 'b'])]);
    expect(result).toMatchObject({ k: 1, passAt1: 0.5, passK: 0.5, flaky: [] });
    expect(passK([run(tasks, ['a']), run(tasks, ['a'])]).flaky).toEqual([]);
    expect(() => passK([])).toThrow('at least one run');
  });
});
