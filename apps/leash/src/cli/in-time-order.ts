/*
 * A task watch reads each topic in its own order, so a task's events can
 * arrive out of the order they happened in: all at once when a watch catches
 * up on a finished task, a few milliseconds apart while it runs. This holds
 * what arrives for a moment and passes it on sorted by the time each event
 * was made.
 */

/** What is ordered: anything with an ISO-8601 UTC time (every envelope). */
export interface Timed {
  readonly time: string;
}

export class InTimeOrder<T extends Timed> {
  private held: T[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `holdMs`: how long the first of a batch waits for later arrivals that happened before it. */
  constructor(
    private readonly emit: (item: T) => void,
    private readonly holdMs = 150,
  ) {}

  add(item: T): void {
    this.held.push(item);
    this.timer ??= setTimeout(() => this.flush(), this.holdMs);
  }

  /** Passes on everything held now, oldest first (arrival order among equal times). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.held;
    this.held = [];
    // Array.prototype.sort is stable; ISO-8601 UTC times sort as strings.
    batch.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const item of batch) this.emit(item);
  }
}
