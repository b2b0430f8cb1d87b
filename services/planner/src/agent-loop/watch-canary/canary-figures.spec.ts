import { CanaryThresholds, type TaskStatus } from '@leash/contracts';
import { canaryBreaches, figuresOf } from './canary-figures';
import type { ReleaseOutcome } from './release-outcome.aggregate';

const limits = CanaryThresholds.parse({ minSample: 10 });

function outcomes(
  release: number,
  count: number,
  shape: Partial<
    Pick<ReleaseOutcome, 'status' | 'usdMicros' | 'durationMs' | 'policyDenials'>
  > = {},
): ReleaseOutcome[] {
  return Array.from({ length: count }, (_, i) => ({
    taskId: `r${release}-${i}`,
    agent: 'support',
    release,
    status: 'succeeded' as TaskStatus,
    usdMicros: 1_000,
    durationMs: 100 + i,
    proposed: 2,
    policyDenials: 0,
    finishedAt: '2026-12-04T00:00:00.000Z',
    ...shape,
  }));
}

describe('canary figures', () => {
  it('counts failure, denial and escalation rates, cost per task and p95 duration', () => {
    const figures = figuresOf([
      ...outcomes(2, 8),
      ...outcomes(2, 1, { status: 'failed' }),
      ...outcomes(2, 1, { status: 'escalated', policyDenials: 2 }),
    ]);
    expect(figures).toEqual({
      tasks: 10,
      failureRate: 0.1,
      denialRate: 0.1,
      escalationRate: 0.1,
      costPerTaskUsdMicros: 1_000,
      p95DurationMs: 107,
    });
  });

  it('finds nothing to say before both sides have the minimum sample', () => {
    const bad = figuresOf(outcomes(2, 9, { status: 'failed' }));
    expect(canaryBreaches(bad, figuresOf(outcomes(1, 50)), limits)).toEqual([]);
  });

  it('names each way the canary is worse beyond its threshold', () => {
    const canary = figuresOf(
      outcomes(2, 10, { status: 'failed', usdMicros: 3_000, durationMs: 1_000, policyDenials: 1 }),
    );
    const breaches = canaryBreaches(canary, figuresOf(outcomes(1, 10)), limits);
    expect(breaches).toEqual([
      expect.stringMatching(/^failure rate 100\.0% against 0\.0%/),
      expect.stringMatching(/^policy denial rate 50\.0% against 0\.0%/),
      expect.stringMatching(/^cost per task \$0\.0030 against \$0\.0010/),
      expect.stringMatching(/^p95 duration 1000 ms against 109 ms/),
    ]);
  });

  it('lets a canary as good as its baseline, or a little worse, through', () => {
    const baseline = figuresOf([...outcomes(1, 19), ...outcomes(1, 1, { status: 'failed' })]);
    const canary = figuresOf([...outcomes(2, 18), ...outcomes(2, 2, { status: 'failed' })]);
    expect(canaryBreaches(canary, baseline, limits)).toEqual([]);
  });
});
