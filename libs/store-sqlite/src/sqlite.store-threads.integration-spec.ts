import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createEnvelope } from '@leash/contracts';
import { OutboxRelay } from '@leash/store';
import { waitFor } from '@leash/testing';
import { openSqliteStore } from './sqlite.store';

/*
 * Stores of one process in different threads (the launcher's worker
 * threads) on one file: a commit that enqueues in one thread wakes the relay
 * of another at once (thread-notices.ts). The relay here polls once a
 * minute, so only the wake-up can publish within the deadline.
 */

const ENQUEUER = `
const { parentPort, workerData } = require('node:worker_threads');
require('@swc-node/register');
const { openSqliteStore } = require(workerData.module);
(async () => {
  const store = await openSqliteStore({ filename: workerData.file, checkpointIntervalMs: 0 });
  await store.transaction((tx) =>
    tx.outbox.enqueue('tasks.requested', workerData.envelope),
  );
  await store.close();
})().then(() => parentPort.postMessage('enqueued'), (error) => parentPort.postMessage(String(error)));
`;

describe('SqliteStore: threads of one process on one file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'leash-store-threads-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("wakes the relay with another thread's enqueue, without waiting for its poll", async () => {
    const file = join(dir, 'store.db');
    const store = await openSqliteStore({ filename: file, checkpointIntervalMs: 0 });
    const published: string[] = [];
    const relay = new OutboxRelay({
      outbox: store.outbox,
      bus: {
        publish: async (topic, envelope) => {
          published.push(envelope.id);
          return { topic, partition: 0, offset: String(published.length) };
        },
      },
      pollIntervalMs: 60_000,
    });
    relay.start();
    try {
      // Passes never overlap: once this one is done, so is the loop's first, which found nothing.
      await relay.drain();
      const worker = new Worker(ENQUEUER, {
        eval: true,
        workerData: {
          file,
          module: require.resolve('./sqlite.store'),
          envelope: createEnvelope(
            'leash.tasks.requested.v1',
            { agent: 'support', input: 'hello' },
            { source: 'test', taskId: 't1', id: 'from-another-thread' },
          ),
        },
      });
      const outcome = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(outcome).toBe('enqueued');
      await waitFor(() => published.length === 1, {
        timeoutMs: 5_000,
        description: "the other thread's entry, well before the relay's next poll",
      });
      expect(published).toEqual(['from-another-thread']);
      await worker.terminate();
    } finally {
      await relay.stop();
      await store.close();
    }
  });
});
