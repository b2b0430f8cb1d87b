import { Worker } from 'node:worker_threads';
import { waitFor } from '@leash/testing';
import { cleanupTemp, tempBusFile } from '../test/bus-files';
import { SqliteTransport } from './sqlite.transport';

/*
 * Transports of one process in different threads (the launcher's worker
 * threads) on one file: a send in one thread wakes the others' idle
 * consumers at once (thread-notices.ts). The consumer here polls the file
 * once a minute, so only the wake-up can deliver within the deadline.
 */

const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
require('@swc-node/register');
const { SqliteTransport } = require(workerData.module);
const transport = new SqliteTransport({ filename: workerData.file, checkpointIntervalMs: 0 });
transport
  .send('orders', [{ key: 'k', value: Buffer.from('from-another-thread') }])
  .then(() => transport.close())
  .then(() => parentPort.postMessage('sent'), (error) => parentPort.postMessage(String(error)));
`;

const NEVER = 60_000;

describe('SqliteTransport: threads of one process on one file', () => {
  afterEach(() => cleanupTemp());

  it("wakes an idle consumer with another thread's send, without waiting for its poll", async () => {
    const file = tempBusFile();
    const transport = new SqliteTransport({
      filename: file,
      checkpointIntervalMs: 0,
      pollIntervalMs: NEVER,
      idlePollIntervalMs: NEVER,
      heartbeatIntervalMs: NEVER / 2,
      sessionTimeoutMs: NEVER,
    });
    const received: string[] = [];
    const consumer = await transport.consume({ group: 'g', topics: ['orders'] }, async (record) => {
      received.push(record.value.toString());
    });
    try {
      // A local send first: the consumer is running and idle at its partition's head.
      await transport.send('orders', [{ key: 'k', value: Buffer.from('local'), headers: {} }]);
      await waitFor(() => received.length === 1, { description: 'the local record' });

      const worker = new Worker(SENDER, {
        eval: true,
        workerData: { file, module: require.resolve('./sqlite.transport') },
      });
      const outcome = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(outcome).toBe('sent');
      await waitFor(() => received.length === 2, {
        timeoutMs: 5_000,
        description: "the other thread's record, well before the consumer's next poll",
      });
      expect(received).toEqual(['local', 'from-another-thread']);
      await worker.terminate();
    } finally {
      await consumer.stop();
      await transport.close();
    }
  });
});
