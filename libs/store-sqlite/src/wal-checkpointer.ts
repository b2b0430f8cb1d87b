import { Worker } from 'node:worker_threads';

/*
 * Checkpoints the store's WAL from a worker thread. SQLite's automatic
 * checkpoint runs inside whichever commit crosses its threshold, copying the
 * WAL into the database and syncing it on the event loop's thread: a stall of
 * milliseconds for every handler waiting on the store. A PASSIVE checkpoint
 * from another connection blocks neither readers nor the writer, so the main
 * connection keeps only a distant automatic threshold as a safety net.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
const report = (error) => parentPort.postMessage(String((error && error.message) || error));
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    report(error);
  }
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointer {
  /** Stops the worker after the checkpoint in progress, if any. */
  stop(): Promise<void>;
}

/** Starts checkpointing `filename` every `intervalMs` until stopped. Never keeps the process alive. */
export function startWalCheckpointer(
  filename: string,
  intervalMs: number,
  busyTimeoutMs: number,
  onError: (error: Error) => void,
): WalCheckpointer {
  const worker = new Worker(WORKER, {
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
  worker.unref();
  worker.on('message', (message: string) => onError(new Error(`WAL checkpoint: ${message}`)));
  worker.on('error', onError);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        // Held while stopping, or an idle process could exit with stop() pending.
        worker.ref();
        worker.postMessage('stop');
        const stuck = setTimeout(() => void worker.terminate(), 5_000);
        await exited;
        clearTimeout(stuck);
      })();
      return stopping;
    },
  };
}
