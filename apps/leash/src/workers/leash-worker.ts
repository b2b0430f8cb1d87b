import { telemetry } from '../instrument';
import { parentPort, workerData } from 'node:worker_threads';
import { leashMetrics } from '@leash/telemetry';
import { startServices, type LeashShare } from '../start';
import type { ThreadReport, ThreadRequest, WorkerData } from './thread-protocol';

/*
 * A worker thread of the launcher (leash-workers.ts): starts its share of the
 * services on engines of its own, answers the main thread's requests, and on
 * `stop` drains and closes them before saying so. Any failure is reported as
 * `fatal` and ends the thread; the launcher then stops as a whole.
 */

const data = workerData as WorkerData;
const port = parentPort!;
const report = (message: ThreadReport) => port.postMessage(message);
const describe = (error: unknown) =>
  error instanceof Error ? (error.stack ?? error.message) : String(error);

let share: LeashShare | undefined;
let stopping: Promise<void> | undefined;

async function answer(what: Extract<ThreadRequest, { type: 'request' }>['what']): Promise<unknown> {
  if (!share) throw new Error('not started');
  switch (what) {
    case 'metrics': {
      // The process's own figures (memory, CPU) come from the main thread, once.
      const metrics = await leashMetrics().registry.getMetricsAsJSON();
      return metrics.filter((metric) => !metric.name.startsWith('leash_process_'));
    }
    case 'ping-bus':
      return share.engines.bus.ping();
    case 'ping-store':
      return share.engines.store.ping();
  }
}

port.on('message', (message: ThreadRequest) => {
  if (message.type === 'stop') {
    stopping ??= (async () => {
      try {
        await share?.stop();
        await telemetry.shutdown().catch(() => undefined);
        report({ type: 'stopped' });
      } catch (error) {
        report({ type: 'stop-failed', message: describe(error) });
      }
    })();
    return;
  }
  answer(message.what).then(
    (value) => report({ type: 'reply', id: message.id, value }),
    (error: unknown) => report({ type: 'reply', id: message.id, error: describe(error) }),
  );
});

async function start(): Promise<void> {
  share = await startServices(data.env, {}, { only: data.only, relayOutbox: false, lag: false });
  if (data.instrument) {
    const module = (await import(data.instrument)) as {
      instrumentThread(share: LeashShare): void | Promise<void>;
    };
    await module.instrumentThread(share);
  }
  report({ type: 'ready' });
}

start().catch((error: unknown) => {
  report({ type: 'fatal', message: `start-up failed: ${describe(error)}` });
  void share?.stop().catch(() => undefined);
});

// After start-up, a failure nothing caught is the thread's end: say why, then let it die.
process.on('uncaughtException', (error) => {
  report({ type: 'fatal', message: describe(error) });
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  report({ type: 'fatal', message: `unhandled rejection: ${describe(error)}` });
  process.exit(1);
});
