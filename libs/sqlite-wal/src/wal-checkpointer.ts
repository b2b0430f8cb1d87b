import { Worker } from 'node:worker_threads';

/*
 * Checkpoints a SQLite file's WAL from a worker thread. A checkpoint copies
 * the WAL into the database and syncs it. SQLite's automatic checkpoint runs
 * inside whichever commit crosses its threshold, on the event loop's thread,
 * where it stalls every handler and publish for 10-250 ms. A PASSIVE
 * checkpoint from another connection blocks neither readers nor the writer,
 * so the embedded engines turn their automatic checkpoint down to a distant
 * safety net and leave this work here.
 *
 * One worker per file per process, shared by reference count: the first
 * start of a file sets its interval. After a checkpoint, a WAL file over
 * 64 MiB is truncated to that size (journal_size_limit). While a checkpoint
 * finds nothing new in the WAL, the next one waits twice as long, up to
 * `idleIntervalMs`: an idle file costs a wake-up every two seconds, not four
 * a second, and the first writes after a quiet spell are checkpointed within
 * that (SQLite's own checkpoint remains the safety net).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
db.pragma('journal_size_limit = 67108864');
let last = '';
let delay = workerData.intervalMs;
let timer;
function checkpoint() {
  try {
    const [{ busy, log, checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)');
    // Nothing written since the last one, and all of it copied: look again later, up to the idle pace.
    const now = busy + ':' + log + ':' + checkpointed;
    const quiet = now === last && checkpointed === log;
    last = now;
    delay = quiet ? Math.min(delay * 2, workerData.idleIntervalMs) : workerData.intervalMs;
  } catch (error) {
    delay = workerData.intervalMs;
    parentPort.postMessage(String((error && error.message) || error));
  }
  timer = setTimeout(checkpoint, delay);
}
timer = setTimeout(checkpoint, delay);
parentPort.once('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/** A checkpoint in progress finishes first; past this, the worker is terminated. */
const STOP_TIMEOUT_MS = 5_000;

export interface WalCheckpointerOptions {
  readonly intervalMs: number;
  /** The slowest pace while the WAL has nothing new. Default 2000 ms (at least `intervalMs`). */
  readonly idleIntervalMs?: number;
  /** How long the worker's checkpoint waits for a lock before it gives up until the next one. */
  readonly busyTimeoutMs: number;
  /** A failed checkpoint or a worker that died; the file keeps working, its WAL just grows. */
  readonly onError: (error: Error) => void;
}

export interface WalCheckpointer {
  /** Gives this start's share back; the last one stops the worker after its checkpoint in progress. */
  stop(): Promise<void>;
}

interface Shared {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  /** One per start not yet stopped: each hears of every failure. */
  readonly listeners: Set<(error: Error) => void>;
}

const WORKERS = new Map<string, Shared>();

function startWorker(filename: string, options: WalCheckpointerOptions): Shared {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Plain JavaScript: none of the parent's preloads (a TypeScript loader costs tens of MB per thread).
    execArgv: [],
    workerData: {
      driver: require.resolve('better-sqlite3'),
      filename,
      intervalMs: options.intervalMs,
      idleIntervalMs: Math.max(options.idleIntervalMs ?? 2000, options.intervalMs),
      busyTimeoutMs: options.busyTimeoutMs,
    },
  });
  // The checkpointer never keeps a process alive on its own.
  worker.unref();
  const listeners = new Set<(error: Error) => void>();
  const report = (error: Error) => {
    for (const listener of listeners) listener(error);
  };
  worker.on('message', (message: string) => report(new Error(`WAL checkpoint: ${message}`)));
  worker.on('error', report);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const shared = { worker, exited, listeners };
  // A worker that died is not shared again: the next start of the file gets a new one.
  void exited.then(() => {
    if (WORKERS.get(filename) === shared) WORKERS.delete(filename);
  });
  return shared;
}

/** Checkpoints `filename` every `intervalMs` until stopped. Never keeps the process alive. */
export function startWalCheckpointer(
  filename: string,
  options: WalCheckpointerOptions,
): WalCheckpointer {
  let shared = WORKERS.get(filename);
  if (!shared) {
    shared = startWorker(filename, options);
    WORKERS.set(filename, shared);
  }
  const mine = shared;
  const listener = (error: Error) => options.onError(error);
  mine.listeners.add(listener);
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        mine.listeners.delete(listener);
        if (mine.listeners.size > 0) return;
        if (WORKERS.get(filename) === mine) WORKERS.delete(filename);
        // Held while stopping, or an otherwise idle process could exit with stop() pending.
        mine.worker.ref();
        mine.worker.postMessage('stop');
        const stuck = setTimeout(() => void mine.worker.terminate(), STOP_TIMEOUT_MS);
        await mine.exited;
        clearTimeout(stuck);
      })();
      return stopping;
    },
  };
}
