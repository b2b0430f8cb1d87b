import type { CanaryThresholds } from '@leash/contracts';
import type { ReleaseOutcome } from './release-outcome.aggregate';

/** What a canary and its baseline are compared on, over the same window. */
export interface ReleaseFigures {
  readonly tasks: number;
  /** Share of tasks that failed or hit a limit. */
  readonly failureRate: number;
  /** Share of proposed tool calls the policy denied. */
  readonly denialRate: number;
  /** Share of tasks that ended escalated to a person. */
  readonly escalationRate: number;
  readonly costPerTaskUsdMicros: number;
  readonly p95DurationMs: number;
}

export function figuresOf(outcomes: readonly ReleaseOutcome[]): ReleaseFigures {
  const n = outcomes.length;
  const share = (count: number, of: number) => (of === 0 ? 0 : count / of);
  const proposed = outcomes.reduce((sum, o) => sum + o.proposed, 0);
  const durations = outcomes.map((o) => o.durationMs).sort((a, b) => a - b);
  return {
    tasks: n,
    failureRate: share(
      outcomes.filter((o) => o.status === 'failed' || o.status === 'limit_exceeded').length,
      n,
    ),
    denialRate: share(
      outcomes.reduce((sum, o) => sum + o.policyDenials, 0),
      proposed,
    ),
    escalationRate: share(outcomes.filter((o) => o.status === 'escalated').length, n),
    costPerTaskUsdMicros: n === 0 ? 0 : outcomes.reduce((sum, o) => sum + o.usdMicros, 0) / n,
    p95DurationMs: n === 0 ? 0 : durations[Math.min(n - 1, Math.ceil(n * 0.95) - 1)]!,
  };
}

/**
 * Where the canary is worse than the baseline beyond its thresholds; empty
 * when it is not, or when either side has fewer tasks than the minimum sample.
 */
export function canaryBreaches(
  canary: ReleaseFigures,
  baseline: ReleaseFigures,
  limits: CanaryThresholds,
): string[] {
  if (canary.tasks < limits.minSample || baseline.tasks < limits.minSample) return [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const breaches: string[] = [];
  const rate = (name: string, c: number, b: number, limit: number) => {
    if (c - b > limit) {
      breaches.push(`${name} ${pct(c)} against ${pct(b)} (more than ${pct(limit)} higher)`);
    }
  };
  rate('failure rate', canary.failureRate, baseline.failureRate, limits.failureRate);
  rate('policy denial rate', canary.denialRate, baseline.denialRate, limits.denialRate);
  rate('escalation rate', canary.escalationRate, baseline.escalationRate, limits.escalationRate);
  // Against a baseline of zero (no cost, no time) a ratio means nothing: only the rates apply.
  const ratio = (
    name: string,
    c: number,
    b: number,
    limit: number,
    unit: (x: number) => string,
  ) => {
    if (b > 0 && c / b > limit) {
      breaches.push(`${name} ${unit(c)} against ${unit(b)} (over ${limit}x)`);
    }
  };
  ratio(
    'cost per task',
    canary.costPerTaskUsdMicros,
    baseline.costPerTaskUsdMicros,
    limits.costRatio,
    (x) => `$${(x / 1e6).toFixed(4)}`,
  );
  ratio(
    'p95 duration',
    canary.p95DurationMs,
    baseline.p95DurationMs,
    limits.p95LatencyRatio,
    (x) => `${Math.round(x)} ms`,
  );
  return breaches;
}
