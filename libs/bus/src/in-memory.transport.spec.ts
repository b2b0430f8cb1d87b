import type { WireMessage } from '@leash/contracts';
import { waitFor } from '@leash/testing';
import { InMemoryEngine, InMemoryTransport } from './in-memory.transport';
import { partitionOf } from './partitioner';

describe('InMemoryTransport', () => {
  const message = (key: string, n = 0): WireMessage => ({
    key,
    value: Buffer.from(String(n)),
    headers: { n: String(n) },
  });
  const transports: InMemoryTransport[] = [];
  const open = (engine = new InMemoryEngine()) => {
    const transport = InMemoryTransport.shared(engine);
    transports.push(transport);
    return transport;
  };
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
  });

  it('places keys where Kafka would and numbers offsets per partition', async () => {
    const transport = open();
    await transport.ensureTopics([{ name: 't', partitions: 8 }]);
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const receipts = await transport.send(
      't',
      keys.map((key) => message(key)),
    );
    receipts.forEach((receipt, i) => expect(receipt.partition).toBe(partitionOf(keys[i], 8)));
    const perPartition = new Map<number, string[]>();
    for (const r of receipts) {
      perPartition.set(r.partition, [...(perPartition.get(r.partition) ?? []), r.offset]);
    }
    for (const offsets of perPartition.values()) {
      expect(offsets).toEqual(offsets.map((_, i) => String(i)));
    }
  });

  it('keeps an existing topic as it is and auto-creates with the default partitions', async () => {
    const engine = new InMemoryEngine({ defaultPartitions: 2 });
    const transport = open(engine);
    await transport.ensureTopics([{ name: 't', partitions: 4 }]);
    await transport.ensureTopics([{ name: 't', partitions: 16 }]);
    await transport.send('auto', [message('a')]);
    expect(engine.partitionCount('t')).toBe(4);
    expect(engine.partitionCount('auto')).toBe(2);
  });

  it('isolates stored records from the producer', async () => {
    const transport = open();
    const sent = message('a');
    await transport.send('t', [sent]);
    sent.value.write('9');
    sent.headers['n'] = 'changed';
    const [stored] = transport.engine.records('t');
    expect(stored.value.toString()).toBe('0');
    expect(stored.headers['n']).toBe('0');
    expect(Object.isFrozen(stored.headers)).toBe(true);
  });

  it('delivers a rejected record again and commits only once it succeeds', async () => {
    const transport = open(new InMemoryEngine({ redeliveryDelayMs: 1 }));
    const seen: string[] = [];
    let failures = 2;
    await transport.consume({ group: 'g', topics: ['t'] }, async (record) => {
      seen.push(record.offset);
      if (failures-- > 0) throw new Error('not yet');
    });
    await transport.send('t', [message('a', 0), message('a', 1)]);
    await waitFor(() => seen.length === 4);
    expect(seen).toEqual(['0', '0', '0', '1']);
    expect(transport.engine.committedOffset('g', 't', 0)).toBe('2');
  });

  it('starts a new group at the end of the log when asked not to read from the beginning', async () => {
    const transport = open();
    await transport.send('t', [message('a', 0)]);
    const seen: string[] = [];
    await transport.consume({ group: 'g', topics: ['t'], fromBeginning: false }, async (r) => {
      seen.push(r.headers['n']);
    });
    await transport.send('t', [message('a', 1)]);
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(['1']);
  });

  it('rebalances when members join and leave, without losing or repeating work', async () => {
    const engine = new InMemoryEngine();
    const a = open(engine);
    const b = open(engine);
    await a.ensureTopics([{ name: 't', partitions: 4 }]);
    const byA: string[] = [];
    const byB: string[] = [];
    const memberA = await a.consume({ group: 'g', topics: ['t'] }, async (r) => {
      byA.push(`${r.partition}:${r.offset}`);
    });
    await b.consume({ group: 'g', topics: ['t'] }, async (r) => {
      byB.push(`${r.partition}:${r.offset}`);
    });
    const keys = Array.from({ length: 32 }, (_, i) => `k${i}`);
    await a.send(
      't',
      keys.map((key) => message(key)),
    );
    await waitFor(() => byA.length + byB.length === 32);
    const partitionsOf = (seen: string[]) => new Set(seen.map((s) => s.split(':')[0]));
    expect(partitionsOf(byA).size).toBe(2);
    expect(partitionsOf(byB).size).toBe(2);

    const handledByA = byA.length;
    await memberA.stop();
    await a.send(
      't',
      keys.map((key) => message(key)),
    );
    await waitFor(() => byA.length + byB.length === 64);
    expect(byA).toHaveLength(handledByA);
    expect(partitionsOf(byB).size).toBe(4);
    expect(new Set([...byA, ...byB]).size).toBe(64);
  });

  it('fences a member that does not drain within the rebalance timeout', async () => {
    const engine = new InMemoryEngine({ rebalanceTimeoutMs: 20 });
    const a = open(engine);
    const b = open(engine);
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let signal: AbortSignal | undefined;
    await a.consume({ group: 'g', topics: ['t'] }, async (_record, controls) => {
      signal = controls.signal;
      await blocked;
    });
    await a.send('t', [message('a')]);
    await waitFor(() => signal);
    const byB: string[] = [];
    // A single partition moves to nobody else until `a` leaves: it stops, drains too slowly, and is fenced.
    await b.consume({ group: 'g', topics: ['t'] }, async (r) => void byB.push(r.offset));
    const stopping = a.close();
    await waitFor(() => byB.length === 1, { description: 'b to take the partition over' });
    expect(signal?.aborted).toBe(true);
    release();
    await stopping;
    expect(byB).toEqual(['0']);
    expect(engine.committedOffset('g', 't', 0)).toBe('1');
  });

  it('refuses work once closed or crashed, and closes idempotently', async () => {
    const closed = open();
    await Promise.all([closed.close(), closed.close()]);
    await expect(closed.send('t', [message('a')])).rejects.toThrow('closed');
    await expect(closed.ping()).rejects.toThrow('closed');
    const crashed = open();
    crashed.crash();
    await expect(
      crashed.consume({ group: 'g', topics: ['t'] }, async () => undefined),
    ).rejects.toThrow('crashed');
    await crashed.close();
  });
});
