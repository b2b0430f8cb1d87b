import { joinFileChannel, type FileChannelMembership } from '@leash/sqlite-wal';

/*
 * What a transport tells the transports of the other threads of this process
 * on the same file (worker threads of `npm start`), so they need not wait for
 * their next poll of `data_version`: partition heads that moved (their idle
 * consumers read at once) and consumer groups whose generation changed (their
 * members rebalance at once). Other processes still notice both by polling.
 */

export type ThreadNotice =
  { readonly heads: readonly (readonly [string, number])[] } | { readonly group: string };

export interface ThreadNoticeListener {
  /** Partition heads (by partitionKey) that another thread's appends moved. */
  advance(heads: ReadonlyMap<string, number>): void;
  /** A group another thread changed (joined, left, released or took a partition). */
  groupChanged(group: string): void;
}

export function joinThreadPeers(
  file: string,
  listener: ThreadNoticeListener,
): FileChannelMembership<ThreadNotice> {
  return joinFileChannel<ThreadNotice>('bus', file, (notice) => {
    if ('heads' in notice) listener.advance(new Map(notice.heads));
    else listener.groupChanged(notice.group);
  });
}
