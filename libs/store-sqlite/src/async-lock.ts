/**
 * A FIFO mutex for one connection. better-sqlite3 is synchronous, but our
 * transactions span awaits; without this, any statement issued while a
 * transaction waits would run inside it.
 */
export class AsyncLock {
  private held = false;
  private queue: (() => void)[] = [];
  private head = 0;

  get isHeld(): boolean {
    return this.held;
  }

  /** Someone is queued for the lock: the holder may leave work open for them to join. */
  get hasWaiters(): boolean {
    return this.head < this.queue.length;
  }

  /** Resolves with a release function once the lock is ours. Releasing twice is harmless. */
  acquire(): Promise<() => void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.queue.push(() => resolve(this.releaser())));
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.handOver();
    };
  }

  private handOver(): void {
    if (this.head < this.queue.length) {
      const next = this.queue[this.head];
      this.queue[this.head] = noop;
      this.head += 1;
      // Compact now and then instead of shift(), which is O(n) per call under a long queue.
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      next(); // the lock stays held: ownership passes straight to the next waiter
    } else {
      this.queue = [];
      this.head = 0;
      this.held = false;
    }
  }
}

function noop(): void {
  return undefined;
}
