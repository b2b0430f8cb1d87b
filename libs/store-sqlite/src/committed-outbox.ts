import type { OutboxEntry } from '@leash/store';

/** Entries kept before the memory gives up and every pass reads the table (a bus down for long). */
const MAX_ENTRIES = 10_000;

/**
 * The outbox table as this connection knows it without reading it: the
 * entries it committed and has not seen sent, and the sent ones whose rows are
 * still to be deleted.
 *
 * The relay's pass asks for pending entries right after each commit that
 * enqueued some, so reading them back from the table (and parsing their JSON)
 * was most of an outbox's cost. The table stays the truth: the memory answers
 * only while it is known to hold every unsent row, that is after a read of the
 * table found all of them, and while no other connection has committed since
 * (SQLite's `data_version` says when one has: another process's enqueue, or
 * its relay marking entries sent). Otherwise the store reads the table, and
 * `resync` makes the memory whole again.
 */
export class CommittedOutbox {
  /** By seq, oldest first; `commit` numbers the commit that brought each one (0: a read). */
  private entries = new Map<number, { readonly entry: OutboxEntry; readonly commit: number }>();
  private complete = false;
  /** `data_version` when the memory was last made whole. */
  private dataVersion: number | undefined;
  /** Commits seen through `committed`. */
  private commits = 0;
  /** Bumped whenever the memory gives up, so a resync read before that does not make it whole. */
  private epoch = 0;
  /** Entries marked sent whose rows are not deleted yet: never pending again. */
  readonly toDelete = new Set<number>();

  /** Entries of a commit that just succeeded, in seq order. */
  committed(entries: readonly OutboxEntry[]): void {
    const commit = ++this.commits;
    for (const entry of entries) this.entries.set(Number(entry.id), { entry, commit });
    if (this.entries.size > MAX_ENTRIES) this.giveUp();
  }

  /** Up to `limit` unsent entries, oldest first; undefined when only the table can say. */
  pending(limit: number, dataVersion: number): OutboxEntry[] | undefined {
    if (!this.complete || dataVersion !== this.dataVersion) return undefined;
    const out: OutboxEntry[] = [];
    for (const { entry } of this.entries.values()) {
      if (out.length >= limit) break;
      out.push(entry);
    }
    return out;
  }

  /** What to note at a read of the table, under the write lock; handed back to `resync`. */
  mark(dataVersion: number): ResyncMark {
    return { dataVersion, commits: this.commits, epoch: this.epoch };
  }

  /**
   * After a read of the table (at `mark`) committed: `rows` are the unsent
   * entries it found, `all` whether that was every one of them. Entries this
   * connection committed since the read are kept; anything else the read did
   * not find is gone.
   */
  resync(rows: readonly OutboxEntry[], all: boolean, mark: ResyncMark): OutboxEntry[] {
    const fresh = rows.filter((row) => !this.toDelete.has(Number(row.id)));
    const next = new Map<number, { entry: OutboxEntry; commit: number }>();
    for (const row of fresh) next.set(Number(row.id), { entry: row, commit: 0 });
    for (const [seq, kept] of this.entries) {
      if (kept.commit > mark.commits) next.set(seq, kept);
    }
    this.entries = new Map([...next].sort((a, b) => a[0] - b[0]));
    this.complete = all && mark.epoch === this.epoch;
    this.dataVersion = mark.dataVersion;
    return fresh;
  }

  sent(seqs: readonly number[]): void {
    for (const seq of seqs) {
      this.entries.delete(seq);
      this.toDelete.add(seq);
    }
  }

  failed(seq: number, error: string): void {
    const kept = this.entries.get(seq);
    if (!kept) return;
    const { entry } = kept;
    this.entries.set(seq, {
      entry: { ...entry, attempts: entry.attempts + 1, lastError: error },
      commit: kept.commit,
    });
  }

  private giveUp(): void {
    this.entries.clear();
    this.complete = false;
    this.epoch += 1;
  }
}

export interface ResyncMark {
  readonly dataVersion: number;
  readonly commits: number;
  readonly epoch: number;
}
