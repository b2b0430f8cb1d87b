import type { ChargeExpiredReservationsUseCase } from './charge-expired-reservations.usecase';

export interface ReservationSweeperOptions {
  readonly intervalMs: number;
  /** Sweep failures; the sweeper keeps going and tries again next interval. */
  readonly onError?: (error: unknown) => void;
}

/** Runs the deadline charge on an interval. The clock is the use case's, so tests sweep by calling `sweep()`. */
export class ReservationSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly charge: ChargeExpiredReservationsUseCase,
    private readonly options: ReservationSweeperOptions,
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
  sweep(): Promise<number> {
    const pass = this.running.then(() => this.charge.execute());
    this.running = pass.catch((error: unknown) => this.options.onError?.(error));
    return pass;
  }

  /** Stops the interval and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
