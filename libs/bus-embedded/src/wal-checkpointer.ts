import { Worker } from 'node:worker_threads';

/*
 * Checkpoints the WAL from a worker thread. A checkpoint copies the WAL into
 * the database and fsyncs it; on the event loop's thread (SQLite's automatic
 * checkpoint runs inside whichever commit crosses the threshold) that stalls
 * every handler and publish for 10-250 ms. A PASSIVE checkpoint from another
 * connection never blocks readers or writers, so the main connection turns
 * its automatic checkpoint down to a distant safety net and leaves this work
 * here. One worker per file per process, shared by reference count.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
db.pragma('journal_size_limit = 67108864');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

interface Shared {
  readonly worker: Worker;
  refs: number;
  readonly exited: Promise<void>;
}

const WORKERS = new Map<string, Shared>();
/** A checkpoint in progress finishes first; past this, the worker is terminated. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface CheckpointerHandle {
  release(): Promise<void>;
}

export function startCheckpointer(
  filename: string,
  intervalMs: number,
  busyTimeoutMs: number,
  onError: (error: unknown) => void,
): CheckpointerHandle {
  let shared = WORKERS.get(filename);
  if (!shared) {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Plain JavaScript: none of the parent's preloads (a TypeScript loader costs tens of MB per thread).
      execArgv: [],
      workerData: {
        driver: require.resolve('better-sqlite3'),
        filename,
        intervalMs,
        busyTimeoutMs,
      },
    });
    // The checkpointer never keeps a process alive on its own.
    worker.unref();
    worker.on('message', (message: { error?: string }) => {
      if (message.error) onError(new Error(`WAL checkpoint: ${message.error}`));
    });
    worker.on('error', onError);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    shared = { worker, refs: 0, exited };
    WORKERS.set(filename, shared);
  }
  shared.refs++;
  const mine = shared;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      if (--mine.refs > 0) return;
      WORKERS.delete(filename);
      // Held while closing, or an otherwise idle process would exit with close() pending.
      mine.worker.ref();
      mine.worker.postMessage('close');
      const stuck = setTimeout(() => void mine.worker.terminate(), CLOSE_TIMEOUT_MS);
      await mine.exited;
      clearTimeout(stuck);
    },
  };
}
