import type { GoldenReport, GoldenResult } from './golden-set';
import { formatComparison } from './compare-releases';

function report(results: Partial<GoldenResult>[]): GoldenReport {
  const full = results.map((r) => ({ costUsdMicros: 1_000, ...r })) as GoldenResult[];
  const passed = full.filter((r) => r.passed).length;
  return {
    results: full,
    passed,
    successRate: passed / full.length,
    costPerTaskUsdMicros: 1_000,
    p50LatencyMs: 10,
    p95LatencyMs: 20,
    wallClockMs: 100,
    benignAskedHumanRate: 0.5,
    benignTasks: 2,
    attackSuccessRate: 0,
    injectionTasks: 0,
  };
}

describe('the comparison of two releases on the golden set', () => {
  it('shows both per task, which tasks changed outcome, and the totals', () => {
    const task = (id: string) => ({ id }) as GoldenResult['scenario'];
    const lines = formatComparison(
      {
        label: '@2',
        report: report([
          { scenario: task('refund'), passed: false, actual: 'succeeded' },
          { scenario: task('lookup'), passed: true, actual: 'succeeded' },
        ]),
      },
      {
        label: '@1',
        report: report([
          { scenario: task('refund'), passed: true, actual: 'escalated' },
          { scenario: task('lookup'), passed: true, actual: 'succeeded' },
        ]),
      },
    );
    expect(lines[0]).toMatch(/^task\s+@2\s+@1\s+@2 status\s+@1 status\s+@2 cost\s+@1 cost$/);
    expect(lines[2]).toMatch(
      /^refund\s+FAIL\s+PASS\s+succeeded\s+escalated\s+\$0\.001000\s+\$0\.001000$/,
    );
    expect(lines).toContain('1 task(s) changed outcome:');
    expect(lines).toContain('  refund: @1 passed (escalated), @2 fails (succeeded)');
    expect(lines.at(-2)).toMatch(/^@2: success 50\.0% \(1\/2\)/);
    expect(lines.at(-1)).toMatch(/^@1: success 100\.0% \(2\/2\)/);
  });
});
