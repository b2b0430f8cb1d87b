export interface IntervalSweeperOptions<R> {
  readonly intervalMs: number;
  /** Sweep failures; the sweeper keeps going and tries again next interval. */
  readonly onError?: (error: unknown) => void;
  readonly onSwept?: (result: R) => void;
}

/**
 * Runs one pass of a use case on an interval (expiring approvals, charging
 * reservations past their deadline, ending tasks past theirs), one pass at a
 * time. The clock is the use case's, so specs sweep by calling `sweep()`.
 */
export class IntervalSweeper<R> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pass: () => Promise<R>,
    private readonly options: IntervalSweeperOptions<R>,
  ) {}

  start(): void {
    if (this.timer) return;
    // A failed pass is reported through onError; the timer must not leave it unhandled.
    this.timer = setInterval(
      () => void this.sweep().catch(() => undefined),
      this.options.intervalMs,
    );
    // The sweeper alone must not keep a process alive.
    this.timer.unref();
  }

  /** One pass, after any pass in progress. */
  sweep(): Promise<R> {
    const next = this.running.then(() => this.pass());
    this.running = next.then(
      (result) => this.options.onSwept?.(result),
      (error: unknown) => this.options.onError?.(error),
    );
    return next;
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
