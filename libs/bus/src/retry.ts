import type { ConsumeControls, RetryPolicy } from './bus.port';

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  multiplier: 2,
});

/** Merges partial policies over the defaults, later ones winning, and rejects nonsense early. */
export function resolveRetryPolicy(
  ...overrides: ReadonlyArray<Partial<RetryPolicy> | undefined>
): RetryPolicy {
  const policy: { -readonly [K in keyof RetryPolicy]: RetryPolicy[K] } = {
    ...DEFAULT_RETRY_POLICY,
  };
  for (const override of overrides) {
    if (!override) continue;
    for (const name of Object.keys(DEFAULT_RETRY_POLICY) as (keyof RetryPolicy)[]) {
      const value = override[name];
      if (value !== undefined) policy[name] = value;
    }
  }
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  if (!(policy.initialDelayMs >= 0)) {
    throw new RangeError(`retry.initialDelayMs must be >= 0, got ${policy.initialDelayMs}`);
  }
  if (!(policy.maxDelayMs >= 0)) {
    throw new RangeError(`retry.maxDelayMs must be >= 0, got ${policy.maxDelayMs}`);
  }
  if (!(policy.multiplier >= 1)) {
    throw new RangeError(`retry.multiplier must be >= 1, got ${policy.multiplier}`);
  }
  return Object.freeze(policy);
}

/** The longest wait after the `failedAttempt`-th attempt (1-based): initial x multiplier^(n-1), capped. */
export function backoffCeilingMs(policy: RetryPolicy, failedAttempt: number): number {
  if (policy.initialDelayMs === 0) return 0; // avoids 0 x Infinity on huge exponents
  const exponential = policy.initialDelayMs * policy.multiplier ** Math.max(0, failedAttempt - 1);
  return Math.min(policy.maxDelayMs, exponential);
}

/**
 * The wait before the next attempt, with full jitter: uniform in [0, ceiling).
 * Full jitter spreads retries of many consumers that failed together (a
 * dependency blipped) instead of having them hit it again in lockstep.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  return random() * backoffCeilingMs(policy, failedAttempt);
}

/** How often a waiting retry tells the group the member is alive; well under Kafka's 10 s session default. */
export const RETRY_HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * Waits `ms` between attempts, heartbeating so a long backoff does not get the
 * member evicted. Resolves true when the wait ran out, false as soon as the
 * signal aborts (the partition is gone: retrying here would be wasted work).
 */
export function waitBeforeRetry(
  ms: number,
  controls: ConsumeControls,
  heartbeatIntervalMs = RETRY_HEARTBEAT_INTERVAL_MS,
): Promise<boolean> {
  const { signal } = controls;
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const beat = () => {
      // A failed heartbeat means a rebalance; losing the partition arrives through the signal.
      controls.heartbeat().catch(() => undefined);
    };
    const finish = (completed: boolean) => {
      clearTimeout(timer);
      clearInterval(heartbeats);
      signal.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    const heartbeats = setInterval(beat, heartbeatIntervalMs);
    signal.addEventListener('abort', onAbort, { once: true });
    beat();
  });
}
