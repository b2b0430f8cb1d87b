import type { AnyEnvelope, TopicName } from '@leash/contracts';
import { OutboxRelay, type OutboxPublisher } from './outbox-relay';
import type { OutboxEntry, OutboxStore } from './store.port';

/** An in-memory outbox with a lease, enough to drive the relay without I/O. */
class MemoryOutbox implements OutboxStore {
  entries: (OutboxEntry & { sent?: boolean })[] = [];
  leaseOwner?: string;
  readonly listeners = new Set<() => void>();
  private seq = 0;

  passes = 0;

  /** `tell: false` is another process's commit: nothing in this one hears of it. */
  add(key: string, id = `${key}-${this.seq + 1}`, tell = true): string {
    this.seq += 1;
    this.entries.push({
      id: String(this.seq),
      topic: 'tasks.requested' as TopicName,
      key,
      envelope: { id, taskId: key } as unknown as AnyEnvelope,
      headers: {},
      enqueuedAt: new Date(0).toISOString(),
      attempts: 0,
    });
    if (tell) for (const listener of this.listeners) listener();
    return id;
  }
  async pending(limit: number) {
    this.passes += 1;
    return this.entries.filter((e) => !e.sent).slice(0, limit);
  }
  async markSent(ids: readonly string[]) {
    for (const entry of this.entries) if (ids.includes(entry.id)) entry.sent = true;
  }
  async markFailed(id: string, error: string) {
    this.entries = this.entries.map((e) =>
      e.id === id ? { ...e, attempts: e.attempts + 1, lastError: error } : e,
    );
  }
  async acquireLease(owner: string) {
    if (this.leaseOwner && this.leaseOwner !== owner) return false;
    this.leaseOwner = owner;
    return true;
  }
  async releaseLease(owner: string) {
    if (this.leaseOwner === owner) this.leaseOwner = undefined;
  }
  onEnqueued(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function recordingBus(fail: (id: string) => boolean = () => false) {
  const published: string[] = [];
  const bus: OutboxPublisher = {
    async publish(topic, envelope) {
      if (fail(envelope.id)) throw new Error(`cannot publish ${envelope.id}`);
      published.push(envelope.id);
      return { topic, partition: 0, offset: String(published.length) };
    },
  };
  return { bus, published };
}

describe('OutboxRelay', () => {
  it('publishes pending entries in order and marks them sent', async () => {
    const outbox = new MemoryOutbox();
    const ids = ['a', 'b', 'a', 'c', 'a'].map((key) => outbox.add(key));
    const { bus, published } = recordingBus();
    const relay = new OutboxRelay({ outbox, bus, batchSize: 2 });
    expect(await relay.drain()).toMatchObject({ published: 5, failed: 0, more: false });
    expect(published.filter((id) => id.startsWith('a-'))).toEqual(
      ids.filter((id) => id.startsWith('a-')),
    );
    expect([...published].sort()).toEqual([...ids].sort());
    expect(await outbox.pending(10)).toEqual([]);
  });

  it('stops a key at its first failure and lets other keys through', async () => {
    const outbox = new MemoryOutbox();
    const a1 = outbox.add('a');
    const b1 = outbox.add('b');
    const a2 = outbox.add('a');
    const b2 = outbox.add('b');
    let broken = true;
    const errors: unknown[] = [];
    const { bus, published } = recordingBus((id) => broken && id === a1);
    const relay = new OutboxRelay({ outbox, bus, onError: (e) => errors.push(e) });
    expect(await relay.drain()).toMatchObject({ published: 2, failed: 1 });
    expect(published).toEqual([b1, b2]);
    expect(errors).toHaveLength(1);
    const pending = await outbox.pending(10);
    expect(pending.map((e) => e.envelope.id)).toEqual([a1, a2]);
    expect(pending[0]).toMatchObject({ attempts: 1, lastError: `cannot publish ${a1}` });
    broken = false;
    expect(await relay.drain()).toMatchObject({ published: 2, failed: 0 });
    expect(published).toEqual([b1, b2, a1, a2]);
  });

  it('publishes nothing without the lease', async () => {
    const outbox = new MemoryOutbox();
    outbox.add('a');
    outbox.leaseOwner = 'someone-else';
    const { bus, published } = recordingBus();
    const relay = new OutboxRelay({ outbox, bus, owner: 'me' });
    expect(await relay.drain()).toMatchObject({ published: 0, leased: false });
    expect(published).toEqual([]);
  });

  it('wakes on an enqueue while running, and frees the lease and listener on stop', async () => {
    const outbox = new MemoryOutbox();
    const { bus, published } = recordingBus();
    const relay = new OutboxRelay({ outbox, bus, pollIntervalMs: 3_600_000, owner: 'me' });
    relay.start();
    relay.start(); // idempotent
    const id = outbox.add('a');
    for (let turn = 0; turn < 50 && published.length === 0; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(published).toEqual([id]);
    await relay.stop();
    expect(relay.isRunning).toBe(false);
    expect(outbox.leaseOwner).toBeUndefined();
    expect(outbox.listeners.size).toBe(0);
    await relay.stop(); // idempotent
  });

  it('backs off after a failure instead of retrying on every wake-up', async () => {
    jest.useFakeTimers();
    try {
      const outbox = new MemoryOutbox();
      let calls = 0;
      const bus: OutboxPublisher = {
        async publish() {
          calls += 1;
          throw new Error('down');
        },
      };
      const relay = new OutboxRelay({ outbox, bus, retryDelayMs: 1_000, pollIntervalMs: 50 });
      outbox.add('a');
      relay.start();
      await jest.advanceTimersByTimeAsync(0);
      expect(calls).toBe(1);
      outbox.add('b'); // a wake-up during the retry wait
      await jest.advanceTimersByTimeAsync(999);
      expect(calls).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(3); // a again, and b
      const stopped = relay.stop();
      await jest.advanceTimersByTimeAsync(0);
      await stopped;
    } finally {
      jest.useRealTimers();
    }
  });

  it('looks less often while idle, still notices untold entries, and looks closely again after activity', async () => {
    jest.useFakeTimers();
    try {
      const outbox = new MemoryOutbox();
      const { bus, published } = recordingBus();
      const relay = new OutboxRelay({ outbox, bus, pollIntervalMs: 100, idlePollIntervalMs: 800 });
      relay.start();
      await jest.advanceTimersByTimeAsync(0);
      expect(outbox.passes).toBe(1);
      // Empty passes: 200, 400, 800, then every 800 ms.
      await jest.advanceTimersByTimeAsync(200 + 400 + 800 + 800 * 4);
      expect(outbox.passes).toBe(1 + 3 + 4);
      // Another process's entry, nobody told: found on the next idle pass, within 800 ms.
      const untold = outbox.add('a', undefined, false);
      await jest.advanceTimersByTimeAsync(800);
      expect(published).toEqual([untold]);
      // Having found work, the relay looks at the active pace again.
      const passes = outbox.passes;
      await jest.advanceTimersByTimeAsync(100);
      expect(outbox.passes).toBe(passes + 1);
      // An enqueue in this process wakes it at once, whatever the pace.
      await jest.advanceTimersByTimeAsync(200 + 400 + 800);
      const told = outbox.add('b');
      await jest.advanceTimersByTimeAsync(0);
      expect(published).toEqual([untold, told]);
      const stopped = relay.stop();
      await jest.advanceTimersByTimeAsync(0);
      await stopped;
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps the active pace while another relay holds the lease', async () => {
    jest.useFakeTimers();
    try {
      const outbox = new MemoryOutbox();
      outbox.leaseOwner = 'someone-else';
      const { bus } = recordingBus();
      const relay = new OutboxRelay({ outbox, bus, pollIntervalMs: 100, idlePollIntervalMs: 800 });
      let attempts = 0;
      const acquire = outbox.acquireLease.bind(outbox);
      outbox.acquireLease = async (owner: string) => {
        attempts += 1;
        return acquire(owner);
      };
      relay.start();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(attempts).toBe(11);
      const stopped = relay.stop();
      await jest.advanceTimersByTimeAsync(0);
      await stopped;
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses nonsense options', () => {
    const outbox = new MemoryOutbox();
    const { bus } = recordingBus();
    expect(() => new OutboxRelay({ outbox, bus, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new OutboxRelay({ outbox, bus, pollIntervalMs: Number.NaN })).toThrow(
      /pollIntervalMs/,
    );
    expect(() => new OutboxRelay({ outbox, bus, idlePollIntervalMs: 0 })).toThrow(
      /idlePollIntervalMs/,
    );
  });
});
