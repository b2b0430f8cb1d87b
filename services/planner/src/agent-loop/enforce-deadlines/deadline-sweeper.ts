import type { EnforceDeadlinesUseCase } from './enforce-deadlines.usecase';

export interface DeadlineSweeperOptions {
  readonly intervalMs: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs the deadline check on an interval, one sweep at a time. The clock
 * the use case reads is injected, so tests call `sweep()` after moving it.
 */
export class DeadlineSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly enforce: EnforceDeadlinesUseCase,
    private readonly options: DeadlineSweeperOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    // The sweeper alone never keeps a process alive.
    this.timer.unref();
  }

  /** One sweep, after any sweep in progress; resolves with the task ids it ended. */
  sweep(): Promise<string[]> {
    const next = this.running.then(() => this.enforce.execute());
    this.running = next.catch((error: unknown) => this.options.onError?.(error));
    return next;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
