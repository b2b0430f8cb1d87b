import { BroadcastChannel } from 'node:worker_threads';

/*
 * Wake-ups between threads of one process that share a SQLite file. Another
 * process's commit is only noticed by polling (`PRAGMA data_version`), which
 * costs a hop up to a poll interval; a thread of the same process can say so
 * at once. One BroadcastChannel per thread, kind and file, shared by every
 * connection of that thread (a channel never hears its own messages, so a
 * thread's connections tell each other directly, as before); it does not keep
 * the thread alive.
 */

export interface FileChannelMembership<M> {
  /** Tells the other threads on this file (never this one). */
  post(message: M): void;
  /** Stops listening; the channel closes with its last member in this thread. */
  leave(): void;
}

interface Shared {
  readonly channel: BroadcastChannel;
  readonly listeners: Set<(message: unknown) => void>;
}

const CHANNELS = new Map<string, Shared>();

/**
 * Joins the channel of `kind` (`bus`, `store`) for `file` (an absolute path):
 * `listener` hears what the other threads post on it.
 */
export function joinFileChannel<M>(
  kind: string,
  file: string,
  listener: (message: M) => void,
): FileChannelMembership<M> {
  const name = `leash:${kind}:${file}`;
  let shared = CHANNELS.get(name);
  if (!shared) {
    const channel = new BroadcastChannel(name);
    const listeners = new Set<(message: unknown) => void>();
    channel.onmessage = (event) => {
      const { data } = event as { data: unknown };
      for (const each of [...listeners]) {
        try {
          each(data);
        } catch {
          // One connection's failure must not keep the others asleep.
        }
      }
    };
    channel.unref();
    shared = { channel, listeners };
    CHANNELS.set(name, shared);
  }
  const own = listener as (message: unknown) => void;
  shared.listeners.add(own);
  const joined = shared;
  let left = false;
  return {
    post(message) {
      if (!left) joined.channel.postMessage(message);
    },
    leave() {
      if (left) return;
      left = true;
      joined.listeners.delete(own);
      if (joined.listeners.size === 0 && CHANNELS.get(name) === joined) {
        CHANNELS.delete(name);
        joined.channel.close();
      }
    },
  };
}
