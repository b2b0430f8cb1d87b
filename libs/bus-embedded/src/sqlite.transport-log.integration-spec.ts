import { partitionOf, type TransportConsumer, type TransportRecord } from '@leash/bus';
import { waitFor } from '@leash/testing';
import { cleanupTemp, committedOffsets, inspect, parked, tempBusFile } from '../test/bus-files';
import { SqliteTransport, type SqliteTransportOptions } from './sqlite.transport';

const message = (key: string, value = key, headers: Record<string, string> = {}) => ({
  key,
  value: Buffer.from(value),
  headers,
});

describe('SqliteTransport: the log', () => {
  const open: SqliteTransport[] = [];
  const openBus = (options: Omit<SqliteTransportOptions, 'filename'> & { filename: string }) => {
    const transport = new SqliteTransport(options);
    open.push(transport);
    return transport;
  };

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    cleanupTemp();
  });

  it('puts a key on the partition Kafka would and numbers offsets per partition', async () => {
    const bus = openBus({ filename: tempBusFile() });
    await bus.ensureTopics([{ name: 't', partitions: 8 }]);
    const keys = ['alpha', 'beta', 'alpha', 'gamma', 'alpha'];
    const receipts = await bus.send(
      't',
      keys.map((k) => message(k)),
    );
    receipts.forEach((receipt, i) => {
      expect(receipt.topic).toBe('t');
      expect(receipt.partition).toBe(partitionOf(keys[i], 8));
    });
    const byPartition = new Map<number, number[]>();
    for (const r of receipts) {
      byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), Number(r.offset)]);
    }
    for (const offsets of byPartition.values()) {
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });

  it('delivers key, value, headers and timestamp as sent', async () => {
    const bus = openBus({ filename: tempBusFile() });
    const before = Date.now();
    const [receipt] = await bus.send('t', [message('k', 'payload', { ce_id: '1', x: 'y' })]);
    const got: TransportRecord[] = [];
    const consumer = await bus.consume({ group: 'g', topics: ['t'] }, async (r) => {
      got.push(r);
    });
    await waitFor(() => got.length === 1, { description: 'the record' });
    expect(got[0]).toMatchObject({
      topic: 't',
      partition: receipt.partition,
      offset: receipt.offset,
      key: 'k',
      headers: { ce_id: '1', x: 'y' },
    });
    expect(got[0].value.toString()).toBe('payload');
    expect(got[0].timestamp).toBeGreaterThanOrEqual(before);
    await consumer.stop();
  });

  it('keeps offset order within a partition and runs partitions concurrently', async () => {
    const bus = openBus({ filename: tempBusFile() });
    await bus.ensureTopics([{ name: 't', partitions: 2 }]);
    const keyOn = (p: number) => {
      for (let i = 0; ; i++) if (partitionOf(`k${i}`, 2) === p) return `k${i}`;
    };
    const [k0, k1] = [keyOn(0), keyOn(1)];
    await bus.send('t', [message(k0, 'block'), message(k0, 'a1'), message(k0, 'a2')]);
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const seen: string[] = [];
    const consumer = await bus.consume({ group: 'g', topics: ['t'] }, async (r) => {
      if (r.value.toString() === 'block') await blocked;
      seen.push(r.value.toString());
    });
    await bus.send('t', [message(k1, 'b1'), message(k1, 'b2')]);
    // Partition 1 makes progress while partition 0 is stuck on its first record.
    await waitFor(() => seen.includes('b2'), { description: 'partition 1 to run' });
    expect(seen).toEqual(['b1', 'b2']);
    unblock();
    await waitFor(() => seen.length === 5, { description: 'partition 0 to resume' });
    expect(seen.filter((v) => v !== 'b1' && v !== 'b2')).toEqual(['block', 'a1', 'a2']);
    await consumer.stop();
  });

  it('commits only after the handler resolves', async () => {
    const file = tempBusFile();
    const bus = openBus({ filename: file });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    await bus.send('t', [message('k')]);
    let finish!: () => void;
    const started = jest.fn();
    const consumer = await bus.consume({ group: 'g', topics: ['t'] }, async (_r, controls) => {
      started();
      await parked(controls.signal, (release) => (finish = release));
    });
    await waitFor(() => started.mock.calls.length === 1, { description: 'the handler to start' });
    // Give the writer every chance to commit early: flush queued writes first.
    bus.flushWrites();
    expect(committedOffsets(file, 'g').get('t:0')).toBeUndefined();
    finish();
    await waitFor(() => committedOffsets(file, 'g').get('t:0') === 1, {
      description: 'the commit of offset 0',
    });
    await consumer.stop();
  });

  it('passes a rejected record again, then moves on once it succeeds', async () => {
    const file = tempBusFile();
    const bus = openBus({ filename: file, retryBackoffMs: 5, retryBackoffMaxMs: 20 });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    await bus.send('t', [message('k', 'first'), message('k', 'second')]);
    const calls: string[] = [];
    const consumer = await bus.consume({ group: 'g', topics: ['t'] }, async (r) => {
      calls.push(`${r.offset}:${r.value}`);
      if (r.offset === '0' && calls.length < 3) {
        expect(committedOffsets(file, 'g').get('t:0')).toBeUndefined();
        throw new Error('transient');
      }
    });
    await waitFor(() => calls.length === 4, { description: 'retries then the next record' });
    expect(calls).toEqual(['0:first', '0:first', '0:first', '1:second']);
    await waitFor(() => committedOffsets(file, 'g').get('t:0') === 2);
    await consumer.stop();
  });

  it('keeps records and commits across a reopen of the file', async () => {
    const file = tempBusFile();
    const first = new SqliteTransport({ filename: file });
    await first.ensureTopics([{ name: 't', partitions: 3 }]);
    const sent = Array.from({ length: 30 }, (_, i) => message(`key-${i % 7}`, `v${i}`));
    await first.send('t', sent);
    const handled: string[] = [];
    const consumer = await first.consume({ group: 'g', topics: ['t'] }, async (r) => {
      handled.push(r.value.toString());
    });
    await waitFor(() => handled.length === 30, { description: 'all 30 records' });
    await consumer.stop();
    await first.send('t', [message('late', 'v30'), message('later', 'v31')]);
    await first.close();

    const second = openBus({ filename: file });
    const again: string[] = [];
    const resumed = await second.consume({ group: 'g', topics: ['t'] }, async (r) => {
      again.push(r.value.toString());
    });
    await waitFor(() => again.length === 2, { description: 'the two records after the commit' });
    expect(again.sort()).toEqual(['v30', 'v31']);
    const fresh: string[] = [];
    const other = await second.consume({ group: 'other', topics: ['t'] }, async (r) => {
      fresh.push(r.value.toString());
    });
    await waitFor(() => fresh.length === 32, { description: 'a new group reading from offset 0' });
    await Promise.all([resumed.stop(), other.stop()]);
  });

  it('starts a new group at the end when fromBeginning is false', async () => {
    const bus = openBus({ filename: tempBusFile() });
    await bus.send('t', [message('a', 'old')]);
    const seen: string[] = [];
    const consumer = await bus.consume(
      { group: 'g', topics: ['t'], fromBeginning: false },
      async (r) => {
        seen.push(r.value.toString());
      },
    );
    await bus.send('t', [message('a', 'new')]);
    await waitFor(() => seen.length === 1, { description: 'the new record' });
    expect(seen).toEqual(['new']);
    await consumer.stop();
  });

  it('stop() waits for the in-flight handler and commits it', async () => {
    const file = tempBusFile();
    const bus = openBus({ filename: file });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    await bus.send('t', [message('k', 'slow'), message('k', 'next')]);
    let finish!: () => void;
    const seen: string[] = [];
    const consumer = await bus.consume({ group: 'g', topics: ['t'] }, async (r, controls) => {
      if (r.value.toString() === 'slow') {
        await parked(controls.signal, (release) => (finish = release));
      }
      expect(controls.signal.aborted).toBe(false);
      seen.push(r.value.toString());
    });
    await waitFor(() => finish !== undefined, { description: 'the slow handler' });
    const stopped = consumer.stop();
    finish();
    await stopped;
    expect(seen).toEqual(['slow']);
    expect(committedOffsets(file, 'g').get('t:0')).toBe(1);
  });

  it('aborts the signal of a handler that outlives the drain timeout', async () => {
    const bus = openBus({ filename: tempBusFile(), drainTimeoutMs: 50 });
    await bus.send('t', [message('k')]);
    let signal: AbortSignal | undefined;
    const consumer: TransportConsumer = await bus.consume(
      { group: 'g', topics: ['t'] },
      (_r, controls) =>
        new Promise<void>((_resolve, reject) => {
          signal = controls.signal;
          controls.signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    await waitFor(() => signal, { description: 'the handler' });
    await consumer.stop();
    expect(signal!.aborted).toBe(true);
  });

  it('delivers every record in order when two connections of one process append in turn', async () => {
    // Each transport keeps its own newest records in memory; the other's appends leave gaps
    // in that memory which only the file can fill.
    const file = tempBusFile();
    const a = openBus({ filename: file });
    const b = openBus({ filename: file });
    await a.ensureTopics([{ name: 't', partitions: 1 }]);
    const expected: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (const [name, transport] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const values = [0, 1, 2].map((i) => `${name}${round}.${i}`);
        expected.push(...values);
        await transport.send(
          't',
          values.map((v) => message('k', v)),
        );
      }
    }
    // Consumed after the fact, so reads start from a's memory and must notice b's gaps.
    const seen: string[] = [];
    const consumer = await a.consume({ group: 'g', topics: ['t'] }, async (r) => {
      seen.push(r.value.toString());
    });
    await waitFor(() => seen.length >= expected.length, { description: 'all 30 records' });
    expect(seen).toEqual(expected);
    await consumer.stop();
  });

  it('grows a topic but never shrinks it', async () => {
    const file = tempBusFile();
    const bus = openBus({ filename: file });
    await bus.ensureTopics([{ name: 't', partitions: 2 }]);
    await bus.ensureTopics([{ name: 't', partitions: 4 }]);
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    const partitions = inspect(file, (db) =>
      db.prepare("SELECT partitions FROM bus_topics WHERE name = 't'").pluck().get(),
    );
    expect(partitions).toBe(4);
  });

  it('auto-creates topics with the default partition count, unless told not to', async () => {
    const file = tempBusFile();
    const bus = openBus({ filename: file, defaultPartitions: 3 });
    await bus.send('auto', [message('k')]);
    expect(
      inspect(file, (db) =>
        db.prepare("SELECT partitions FROM bus_topics WHERE name = 'auto'").pluck().get(),
      ),
    ).toBe(3);
    const strict = openBus({ filename: tempBusFile(), autoCreateTopics: false });
    await expect(strict.send('missing', [message('k')])).rejects.toThrow(/unknown topic/);
  });

  describe('retention', () => {
    it('keeps at most maxMessagesPerPartition records per partition', async () => {
      const file = tempBusFile();
      const bus = openBus({ filename: file, retention: { maxMessagesPerPartition: 10 } });
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      await bus.send(
        't',
        Array.from({ length: 25 }, (_, i) => message('k', `v${i}`)),
      );
      expect(await bus.enforceRetention()).toBe(15);
      const seen: string[] = [];
      const consumer = await bus.consume({ group: 'g', topics: ['t'] }, async (r) => {
        seen.push(r.offset);
      });
      await waitFor(() => seen.length === 10, { description: 'the retained records' });
      expect(seen[0]).toBe('15');
      await consumer.stop();
    });

    it('deletes records older than maxAgeMs, keeping offsets', async () => {
      const file = tempBusFile();
      const bus = openBus({ filename: file, retention: { maxAgeMs: 60_000 } });
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      await bus.send('t', [message('k', 'old'), message('k', 'old')]);
      expect(await bus.enforceRetention()).toBe(0);
      expect(await bus.enforceRetention(Date.now() + 61_000)).toBe(2);
      const [receipt] = await bus.send('t', [message('k', 'new')]);
      expect(receipt.offset).toBe('2');
    });

    it('keeps everything when both limits are off', async () => {
      const bus = openBus({
        filename: tempBusFile(),
        retention: { maxAgeMs: null, maxMessagesPerPartition: null },
      });
      await bus.send('t', [message('k')]);
      expect(await bus.enforceRetention(Date.now() + 365 * 24 * 3600_000)).toBe(0);
    });
  });

  it('ping answers while open and fails once closed', async () => {
    const bus = new SqliteTransport({ filename: tempBusFile() });
    await expect(bus.ping()).resolves.toBeUndefined();
    await bus.close();
    await expect(bus.ping()).rejects.toThrow(/closed/);
    await expect(bus.send('t', [message('k')])).rejects.toThrow(/closed/);
  });

  it('writes concurrent sends in one transaction and resolves each with its receipts', async () => {
    const bus = openBus({ filename: tempBusFile() });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    const receipts = await Promise.all(
      Array.from({ length: 100 }, (_, i) => bus.send('t', [message('k', `v${i}`)])),
    );
    expect(receipts.map(([r]) => Number(r.offset))).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
  });
});
