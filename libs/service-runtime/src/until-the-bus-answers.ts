import type { Bus } from '@leash/bus';

export interface UntilTheBusAnswersOptions {
  readonly bus: Pick<Bus, 'ping'>;
  /** Told before each wait: the start's error and how long until the next try. */
  readonly onRetry?: (error: unknown, delayMs: number) => void;
  /** Default 500 ms, doubling up to `maxDelayMs` (default 15 s). */
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
  /** How long the bus may take to answer the check after a failed start. Default 5 s. */
  readonly pingTimeoutMs?: number;
}

/**
 * Runs `start` again and again, with backoff, for as long as it fails while the
 * bus does not answer (a broker still starting, or down): a service deployed
 * before its broker waits for it instead of exiting. A failure while the bus
 * answers is the caller's own (a bad module, a refused subscription): thrown.
 */
export async function untilTheBusAnswers<T>(
  start: () => Promise<T>,
  options: UntilTheBusAnswersOptions,
): Promise<T> {
  const maxDelayMs = options.maxDelayMs ?? 15_000;
  for (let delayMs = options.firstDelayMs ?? 500; ; delayMs = Math.min(delayMs * 2, maxDelayMs)) {
    try {
      return await start();
    } catch (error) {
      if (await answers(options.bus, options.pingTimeoutMs ?? 5_000)) throw error;
      options.onRetry?.(error, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

async function answers(bus: Pick<Bus, 'ping'>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), timeoutMs);
  });
  try {
    await Promise.race([bus.ping(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
