import type { ExpireApprovalsUseCase, ExpiryReport } from './expire-approvals.usecase';

export interface ApprovalSweeperOptions {
  readonly intervalMs: number;
  /** Sweep failures; the sweeper keeps going and tries again next interval. */
  readonly onError?: (error: unknown) => void;
  readonly onSwept?: (report: ExpiryReport) => void;
}

/** Runs the expiry on an interval. The clock is the use case's, so specs sweep by calling `sweep()`. */
export class ApprovalSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly expire: ExpireApprovalsUseCase,
    private readonly options: ApprovalSweeperOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => void this.sweep().catch(() => undefined),
      this.options.intervalMs,
    );
    // The sweeper alone must not keep a process alive.
    this.timer.unref();
  }

  /** One pass; passes never overlap. */
  sweep(): Promise<ExpiryReport> {
    const pass = this.running.then(() => this.expire.execute());
    this.running = pass.then(
      (report) => this.options.onSwept?.(report),
      (error: unknown) => this.options.onError?.(error),
    );
    return pass;
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
