import {
  DEFAULT_RETRY_POLICY,
  backoffCeilingMs,
  backoffDelayMs,
  resolveRetryPolicy,
  waitBeforeRetry,
} from './retry';

describe('retry policy', () => {
  it('defaults to 5 attempts, 100 ms doubling up to 5 s', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxAttempts: 5,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      multiplier: 2,
    });
    expect(resolveRetryPolicy()).toEqual(DEFAULT_RETRY_POLICY);
  });

  it('lets later overrides win and ignores undefined fields', () => {
    const policy = resolveRetryPolicy({ maxAttempts: 3, initialDelayMs: 10 }, undefined, {
      initialDelayMs: 20,
      multiplier: undefined,
    });
    expect(policy).toEqual({
      maxAttempts: 3,
      initialDelayMs: 20,
      maxDelayMs: 5_000,
      multiplier: 2,
    });
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it.each([
    [{ maxAttempts: 0 }],
    [{ maxAttempts: 1.5 }],
    [{ initialDelayMs: -1 }],
    [{ maxDelayMs: Number.NaN }],
    [{ multiplier: 0.5 }],
  ])('rejects %p', (override) => {
    expect(() => resolveRetryPolicy(override)).toThrow(RangeError);
  });
});

describe('backoff', () => {
  it('grows exponentially from the initial delay and stops at the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 50].map((n) =>
      backoffCeilingMs(DEFAULT_RETRY_POLICY, n),
    );
    expect(ceilings).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });

  it('follows the multiplier', () => {
    const policy = resolveRetryPolicy({ initialDelayMs: 10, multiplier: 3, maxDelayMs: 1_000 });
    expect([1, 2, 3, 4, 5].map((n) => backoffCeilingMs(policy, n))).toEqual([10, 30, 90, 270, 810]);
  });

  it('stays at zero when the initial delay is zero, however many attempts', () => {
    const policy = resolveRetryPolicy({ initialDelayMs: 0 });
    expect(backoffCeilingMs(policy, 10_000)).toBe(0);
  });

  it('applies full jitter: uniform between zero and the ceiling', () => {
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(200);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0.25)).toBe(100);
    const delays = Array.from({ length: 1_000 }, () => backoffDelayMs(DEFAULT_RETRY_POLICY, 2));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(200);
  });
});

describe('waitBeforeRetry', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const controls = (signal = new AbortController().signal) => ({
    heartbeat: jest.fn(() => Promise.resolve()),
    signal,
  });

  it('waits the given time, heartbeating throughout', async () => {
    const c = controls();
    let done: boolean | undefined;
    void waitBeforeRetry(3_500, c, 1_000).then((r) => (done = r));
    await jest.advanceTimersByTimeAsync(3_499);
    expect(done).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    // Once on entry, then every second.
    expect(c.heartbeat).toHaveBeenCalledTimes(4);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops early when the signal aborts', async () => {
    const abort = new AbortController();
    const c = controls(abort.signal);
    const waiting = waitBeforeRetry(60_000, c);
    await jest.advanceTimersByTimeAsync(100);
    abort.abort();
    await expect(waiting).resolves.toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not wait at all when already aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    const c = controls(abort.signal);
    await expect(waitBeforeRetry(60_000, c)).resolves.toBe(false);
    expect(c.heartbeat).not.toHaveBeenCalled();
  });

  it('survives a failing heartbeat', async () => {
    const c = {
      heartbeat: jest.fn(() => Promise.reject(new Error('rebalancing'))),
      signal: new AbortController().signal,
    };
    const waiting = waitBeforeRetry(2_000, c, 500);
    await jest.advanceTimersByTimeAsync(2_000);
    await expect(waiting).resolves.toBe(true);
  });
});
