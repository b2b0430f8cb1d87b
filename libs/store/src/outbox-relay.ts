import { randomUUID } from 'node:crypto';
// The relay needs only the Bus port's publish signature, never an adapter.
import type { Bus } from '@leash/bus';
import type { OutboxEntry, OutboxStore } from './store.port';

/** The part of the bus the relay uses; a test can pass a plain object. */
export type OutboxPublisher = Pick<Bus, 'publish'>;

export interface OutboxRelayOptions {
  readonly outbox: OutboxStore;
  readonly bus: OutboxPublisher;
  /** Entries read per pass. Default 200. */
  readonly batchSize?: number;
  /**
   * How often to look for entries nobody told this relay about (committed by
   * other processes) while there is work. Default 1000 ms.
   */
  readonly pollIntervalMs?: number;
  /**
   * The look slows down, doubling at each empty pass, to this while there is
   * nothing to relay, and comes back to `pollIntervalMs` at the first entry or
   * enqueue: entries this process commits wake the relay at once
   * (`onEnqueued`), so the slow pace only bounds how late another process's
   * entries are noticed when all is quiet. Default 5000 ms (at least
   * `pollIntervalMs`).
   */
  readonly idlePollIntervalMs?: number;
  /** First wait after a failed pass; doubles up to `maxRetryDelayMs`. Default 100 ms. */
  readonly retryDelayMs?: number;
  /** Default 10 s. */
  readonly maxRetryDelayMs?: number;
  /** How long the relay lease lasts without renewal. Default 15 s. */
  readonly leaseTtlMs?: number;
  /** Lease owner; unique per relay by default. */
  readonly owner?: string;
  /** Publish and store failures; the relay keeps going. */
  readonly onError?: (error: unknown, entry?: OutboxEntry) => void;
}

export interface RelayPass {
  readonly published: number;
  readonly failed: number;
  /** False when another relay holds the lease. */
  readonly leased: boolean;
  /** The batch was full: more may be waiting. */
  readonly more: boolean;
}

/**
 * Publishes committed outbox entries to the bus, oldest first.
 *
 * Delivery is at least once: an entry is marked sent only after the bus
 * acknowledged it, so a crash (or a failed mark) between the two publishes it
 * again. Consumers dedupe by event id (Inbox.claim), so that is safe.
 *
 * Order: entries sharing a partition key are published one at a time in
 * insertion order, and a failure stops that key for the pass, so a later
 * entry never overtakes an earlier one. Different keys go out concurrently.
 */
export class OutboxRelay {
  private readonly outbox: OutboxStore;
  private readonly bus: OutboxPublisher;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly idlePollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly leaseTtlMs: number;
  private readonly owner: string;
  private readonly onError: (error: unknown, entry?: OutboxEntry) => void;

  private running = false;
  private loop?: Promise<void>;
  private unsubscribe?: () => void;
  /** Set by a wake-up that arrived while a pass ran, so the next idle wait is skipped. */
  private woken = false;
  private wake?: () => void;
  /** Passes never overlap: `drain()` and the loop share this chain. */
  private passes: Promise<unknown> = Promise.resolve();

  constructor(options: OutboxRelayOptions) {
    this.outbox = options.outbox;
    this.bus = options.bus;
    this.batchSize = positive(options.batchSize ?? 200, 'batchSize');
    this.pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
    this.idlePollIntervalMs = Math.max(
      positive(options.idlePollIntervalMs ?? 5000, 'idlePollIntervalMs'),
      this.pollIntervalMs,
    );
    this.retryDelayMs = positive(options.retryDelayMs ?? 100, 'retryDelayMs');
    this.maxRetryDelayMs = positive(options.maxRetryDelayMs ?? 10_000, 'maxRetryDelayMs');
    this.leaseTtlMs = positive(options.leaseTtlMs ?? 15_000, 'leaseTtlMs');
    this.owner = options.owner ?? `relay-${process.pid}-${randomUUID()}`;
    this.onError = options.onError ?? (() => undefined);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts relaying in the background until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.outbox.onEnqueued(() => this.poke());
    this.loop = this.run();
  }

  /** Lets the pass in progress finish (its publishes and marks), then stops and frees the lease. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.outbox.releaseLease(this.owner).catch((error) => this.onError(error));
  }

  /** Publishes until nothing is pending or a pass fails; for tests and shutdown hooks. */
  async drain(): Promise<RelayPass> {
    let published = 0;
    for (;;) {
      const pass = await this.pass();
      published += pass.published;
      if (!pass.more || pass.failed > 0) return { ...pass, published };
    }
  }

  private poke(): void {
    this.woken = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    let idleMs = this.pollIntervalMs;
    while (this.running) {
      // A wake-up (this process enqueued) means activity: look closely again.
      if (this.woken) idleMs = this.pollIntervalMs;
      this.woken = false;
      let pass: RelayPass;
      try {
        pass = await this.pass();
      } catch (error) {
        this.onError(error);
        pass = { published: 0, failed: 1, leased: true, more: false };
      }
      if (!this.running) break;
      if (pass.failed > 0) {
        failures += 1;
        const delay = Math.min(this.retryDelayMs * 2 ** (failures - 1), this.maxRetryDelayMs);
        // New commits do not cut a retry wait short: with the bus down they would hammer it.
        await this.pause(delay, false);
        continue;
      }
      failures = 0;
      if (pass.more) continue;
      // Another relay holds the lease: keep today's pace, to take over soon after it lapses.
      const quiet = pass.leased && pass.published === 0;
      idleMs = quiet ? Math.min(idleMs * 2, this.idlePollIntervalMs) : this.pollIntervalMs;
      await this.pause(idleMs, true);
    }
  }

  private pause(ms: number, wakeable: boolean): Promise<void> {
    if (!this.running || (wakeable && this.woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = wakeable ? done : () => (this.running ? undefined : done());
    });
  }

  private pass(): Promise<RelayPass> {
    const next = this.passes.then(() => this.passOnce());
    this.passes = next.catch(() => undefined);
    return next;
  }

  private async passOnce(): Promise<RelayPass> {
    if (!(await this.outbox.acquireLease(this.owner, this.leaseTtlMs))) {
      return { published: 0, failed: 0, leased: false, more: false };
    }
    const entries = await this.outbox.pending(this.batchSize);
    const byKey = new Map<string, OutboxEntry[]>();
    for (const entry of entries) {
      const queue = byKey.get(entry.key);
      if (queue) queue.push(entry);
      else byKey.set(entry.key, [entry]);
    }
    const sent: string[] = [];
    let failed = 0;
    await Promise.all(
      [...byKey.values()].map(async (queue) => {
        for (const entry of queue) {
          try {
            await this.bus.publish(entry.topic, entry.envelope as never, {
              headers: entry.headers,
            });
          } catch (error) {
            failed += 1;
            this.onError(error, entry);
            await this.outbox
              .markFailed(entry.id, error instanceof Error ? error.message : String(error))
              .catch((markError) => this.onError(markError, entry));
            return; // the rest of this key waits for the next pass, keeping its order
          }
          sent.push(entry.id);
        }
      }),
    );
    if (sent.length > 0) await this.outbox.markSent(sent);
    return {
      published: sent.length,
      failed,
      leased: true,
      more: failed === 0 && entries.length === this.batchSize,
    };
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`OutboxRelay: ${name} must be a positive number, got ${value}`);
  }
  return value;
}
