import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Environment } from '@leash/config';
import type { ProcessName } from '@leash/engines';
import {
  startObservabilityServer,
  type HealthTarget,
  type ObservabilityServer,
} from '@leash/service-runtime';
import { leashMetrics } from '@leash/telemetry';
import type { LeashShare, ShareOptions } from '../start';
import type { ThreadReport, ThreadRequest, WorkerData } from './thread-protocol';

/*
 * `npm start` on several threads (LEASH_WORKERS > 1): the five services and
 * the audit recorder spread over the main thread and N - 1 worker threads,
 * each thread with its own connections to the same bus and store files, as
 * separate processes would have. Threads of one process tell each other of
 * their commits at once (a BroadcastChannel per file, in the engines), so a
 * hop between threads waits for no poll. The main thread keeps what is one
 * per process: the outbox relay, the reviewers' inbox, the demo, and the
 * metrics and health endpoint, which asks the workers for theirs.
 *
 * A worker that fails, at start or later, stops the launcher: `failed`
 * settles with the reason, and the caller stops the rest and exits.
 */

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export interface LeashWorkersOptions {
  /** Threads in all, the main one included (LEASH_WORKERS). */
  readonly threads: number;
  /** The environment every thread's services read (signing keys included). */
  readonly env: Environment;
  /** Starts a share in this thread: `startServices` of start.ts. */
  readonly startShare: (
    env: Environment,
    options: ShareOptions & { readonly only: readonly ProcessName[] },
  ) => Promise<LeashShare>;
  readonly processes: readonly ProcessName[];
  readonly httpPort: number;
  /**
   * A module each worker loads once its services are up, calling its
   * `instrumentThread(share)`: how a benchmark times what runs in a worker.
   * The caller does the same for the main thread's share.
   */
  readonly instrument?: string;
}

export interface LeashWorkers {
  /** The main thread's share: its services and the engines the launcher uses itself. */
  readonly main: LeashShare;
  /** Which processes each thread runs; [0] is the main thread. */
  readonly placement: readonly (readonly ProcessName[])[];
  readonly http: ObservabilityServer;
  /** Settles (never rejects) when a worker fails after start-up. */
  readonly failed: Promise<Error>;
  /** Stops every worker (each drains its consumers and closes its engines), then the main share. */
  stop(): Promise<void>;
}

/**
 * Deals `processes` out over `threads` in turn, thread 0 first. Their order
 * is their start order, which puts the planner and the budget (the busiest
 * two) on different threads.
 */
export function placeProcesses(
  processes: readonly ProcessName[],
  threads: number,
): ProcessName[][] {
  const used = Math.max(1, Math.min(threads, processes.length));
  const placement: ProcessName[][] = Array.from({ length: used }, () => []);
  processes.forEach((name, i) => placement[i % used]!.push(name));
  return placement;
}

export async function startLeashWorkers(options: LeashWorkersOptions): Promise<LeashWorkers> {
  const placement = placeProcesses(options.processes, options.threads);
  let fail!: (error: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let stopping = false;
  const threads = placement.slice(1).map(
    (only) =>
      new ServiceThread(
        {
          env: { ...options.env },
          only,
          ...(options.instrument ? { instrument: options.instrument } : {}),
        },
        (error) => {
          if (!stopping) fail(error);
        },
      ),
  );
  let main: LeashShare | undefined;
  let http: ObservabilityServer | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    await http?.close().catch(() => undefined);
    // Every thread drains at once; the main share (and with it the outbox relay) last.
    const stopped = await Promise.allSettled(threads.map((thread) => thread.stop()));
    try {
      await main?.stop();
    } finally {
      const failures = stopped.flatMap((result) =>
        result.status === 'rejected' ? [String(result.reason)] : [],
      );
      if (failures.length > 0) throw new Error(failures.join('; '));
    }
  };
  try {
    // The workers start while the main thread starts its own share.
    const [share] = await Promise.all([
      options.startShare(options.env, { only: placement[0]!, relayOutbox: true, lag: true }),
      ...threads.map((thread) => thread.ready),
    ]);
    main = share;
    http = await startObservabilityServer({
      port: options.httpPort,
      targets: [
        ...[...share.services, ...(share.audit ? [share.audit] : [])].map(
          (service): HealthTarget => ({
            name: service.name,
            bus: share.engines.bus,
            store: share.engines.store,
          }),
        ),
        ...threads.flatMap((thread) => thread.targets()),
      ],
      metrics: async () => {
        const all = await Promise.all([
          leashMetrics().registry.getMetricsAsJSON(),
          ...threads.map((thread) => thread.request<MetricsJson>('metrics')),
        ]);
        return AggregatorRegistry.aggregate(all).metrics();
      },
    });
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { main: main!, placement, http, failed, stop };
}

/** One worker thread running a share: its start, its requests, its stop. */
class ServiceThread {
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly exited: Promise<number>;
  private readonly replies = new Map<
    number,
    { resolve: (value: never) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  private stopped: (() => void) | undefined;
  private stopFailed: ((error: Error) => void) | undefined;
  private startFailed!: (error: Error) => void;
  private failedOnce = false;
  /** The thread has ended (after a failure that was reported, or a stop). */
  private gone = false;

  constructor(
    private readonly data: WorkerData,
    onFailure: (error: Error) => void,
  ) {
    // The same extension as this file: .ts under @swc-node/register, .js when built.
    const source = extname(__filename);
    // A worker inherits the process's -r @swc-node/register; a test runner's process has none.
    const compile =
      source === '.ts' && !process.execArgv.join(' ').includes('@swc-node/register')
        ? ['-r', '@swc-node/register']
        : [];
    this.worker = new Worker(join(__dirname, `leash-worker${source}`), {
      workerData: data,
      execArgv: [...process.execArgv, ...compile],
      // The services log to the process's stdout and stderr, as on the main thread.
      stdout: false,
      stderr: false,
    });
    let started = false;
    this.ready = new Promise<void>((resolve, reject) => {
      this.startFailed = reject;
      this.worker.on('message', (report: ThreadReport) => {
        switch (report.type) {
          case 'ready':
            started = true;
            resolve();
            return;
          case 'fatal':
            return this.failure(new Error(`${this.label}: ${report.message}`), started, onFailure);
          case 'stopped':
            return this.stopped?.();
          case 'stop-failed':
            return this.stopFailed?.(
              new Error(`${this.label} did not stop cleanly: ${report.message}`),
            );
          case 'reply': {
            const waiting = this.replies.get(report.id);
            this.replies.delete(report.id);
            if (report.error !== undefined) waiting?.reject(new Error(report.error));
            else waiting?.resolve(report.value as never);
            return;
          }
        }
      });
    });
    this.ready.catch(() => undefined);
    this.worker.on('error', (error) => this.failure(error, started, onFailure));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        this.gone = true;
        for (const waiting of this.replies.values())
          waiting.reject(new Error(`${this.label} exited`));
        this.replies.clear();
        this.failure(new Error(`${this.label} exited with code ${code}`), started, onFailure);
        resolve(code);
      });
    });
  }

  /** The thread, as a person reading an error needs it named. */
  get label(): string {
    return `the worker thread running ${this.data.only.join(', ')}`;
  }

  targets(): HealthTarget[] {
    return this.data.only.map((name) => ({
      name,
      bus: { ping: () => this.request<void>('ping-bus') },
      store: { ping: () => this.request<void>('ping-store') },
    }));
  }

  request<T>(what: Extract<ThreadRequest, { type: 'request' }>['what']): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.replies.set(id, { resolve: resolve as (value: never) => void, reject });
      this.worker.postMessage({ type: 'request', id, what } satisfies ThreadRequest);
    });
  }

  /** Asks the worker to drain and close; resolves once it has and the thread is gone. */
  async stop(): Promise<void> {
    // A thread that failed is gone already; its failure was reported as it happened.
    if (this.gone || this.failedOnce) {
      await this.worker.terminate();
      return;
    }
    const done = new Promise<void>((resolve, reject) => {
      this.stopped = resolve;
      this.stopFailed = reject;
    });
    const exitedFirst = this.exited.then((code) => {
      throw new Error(`${this.label} exited with code ${code} before it stopped`);
    });
    this.worker.postMessage({ type: 'stop' });
    try {
      await Promise.race([done, exitedFirst]);
    } finally {
      exitedFirst.catch(() => undefined);
      await this.worker.terminate();
    }
  }

  private failure(error: Error, started: boolean, onFailure: (error: Error) => void): void {
    if (this.failedOnce) return;
    if (this.stopped !== undefined) return; // asked to stop: its exit is expected
    this.failedOnce = true;
    if (started) onFailure(error);
    else this.startFailed(error);
  }
}
