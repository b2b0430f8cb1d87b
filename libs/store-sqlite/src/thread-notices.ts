import { resolve } from 'node:path';
import { joinFileChannel, type FileChannelMembership } from '@leash/sqlite-wal';

/*
 * What a store tells the stores of this process's other threads on the same
 * file (worker threads of `npm start`), so they need not wait for a poll:
 * - `enqueued`: a commit enqueued outbox entries; the thread whose relay
 *   holds the outbox lease publishes them at once;
 * - `unlocked`: a commit or rollback freed the write lock; a thread backing
 *   off from it tries again at once instead of at the end of its backoff.
 * Other processes are still found by polling (the relay's, the backoff's).
 */

type StoreNotice = 'enqueued' | 'unlocked';

export class StoreThreads {
  private readonly channel: FileChannelMembership<StoreNotice>;
  private readonly lockWaiters = new Set<() => void>();

  private constructor(file: string, onEnqueued: () => void) {
    this.channel = joinFileChannel<StoreNotice>('store', file, (notice) => {
      for (const wake of [...this.lockWaiters]) wake();
      if (notice === 'enqueued') onEnqueued();
    });
  }

  /** Undefined for a store in memory, which no other thread can open. */
  static join(filename: string, onEnqueued: () => void): StoreThreads | undefined {
    if (filename === ':memory:' || filename === '') return undefined;
    return new StoreThreads(resolve(filename), onEnqueued);
  }

  enqueued(): void {
    this.channel.post('enqueued');
  }

  unlocked(): void {
    this.channel.post('unlocked');
  }

  /** Waits `ms`, or less if another thread frees the write lock meanwhile. */
  lockWait(ms: number): Promise<void> {
    return new Promise((done) => {
      const wake = () => {
        clearTimeout(timer);
        this.lockWaiters.delete(wake);
        done();
      };
      const timer = setTimeout(wake, ms);
      this.lockWaiters.add(wake);
    });
  }

  leave(): void {
    this.channel.leave();
    for (const wake of [...this.lockWaiters]) wake();
  }
}
