import { resolve } from 'node:path';
import { joinFileChannel, type FileChannelMembership } from '@leash/sqlite-wal';

/*
 * What a store tells the stores of this process's other threads on the same
 * file (worker threads of `npm start`), so they need not wait for a poll:
 * - `enqueued`: a commit enqueued outbox entries; the thread whose relay
 *   holds the outbox lease publishes them at once;
 * - `waiting`: a thread is backing off from the write lock; the next commit
 *   or rollback of the others says `unlocked`, and it tries again at once
 *   instead of at the end of its backoff. Only then, so a thread that writes
 *   alone posts nothing per commit (posting was 4% of a busy thread's time).
 * Other processes are still found by polling (the relay's, the backoff's).
 */

type StoreNotice = 'enqueued' | 'waiting' | 'unlocked';

export class StoreThreads {
  private readonly channel: FileChannelMembership<StoreNotice>;
  private readonly lockWaiters = new Set<() => void>();
  /** Another thread said it waits for the write lock since this one last freed it. */
  private othersWaiting = false;

  private constructor(file: string, onEnqueued: () => void) {
    this.channel = joinFileChannel<StoreNotice>('store', file, (notice) => {
      if (notice === 'waiting') {
        this.othersWaiting = true;
        return;
      }
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
    if (!this.othersWaiting) return;
    this.othersWaiting = false;
    this.channel.post('unlocked');
  }

  /** Waits `ms`, or less if another thread frees the write lock meanwhile. */
  lockWait(ms: number): Promise<void> {
    this.channel.post('waiting');
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
