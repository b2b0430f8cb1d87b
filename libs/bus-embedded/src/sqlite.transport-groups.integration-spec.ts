import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import type { TransportConsumer } from '@leash/bus';
import { waitFor } from '@leash/testing';
import {
  cleanupTemp,
  committedOffsets,
  inspect,
  leaseHolders,
  parked,
  tempBusFile,
} from '../test/bus-files';
import { SqliteTransport, type SqliteTransportOptions } from './sqlite.transport';

const message = (key: string, value = key) => ({ key, value: Buffer.from(value), headers: {} });

/** Puts a member row and leases on every partition of `topic` into the file, as another process would. */
function plantMember(
  file: string,
  group: string,
  topic: string,
  member: { id: string; host: string; pid: number; expiresAt: number },
): void {
  inspect(file, (db) => {
    const topicRow = db
      .prepare('SELECT id, partitions FROM bus_topics WHERE name = ?')
      .get(topic) as {
      id: number;
      partitions: number;
    };
    db.prepare('INSERT OR IGNORE INTO bus_groups (name, generation) VALUES (?, 0)').run(group);
    db.prepare(
      `INSERT INTO bus_members (group_name, member_id, host, pid, topics, joined_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      group,
      member.id,
      member.host,
      member.pid,
      JSON.stringify([topic]),
      Date.now(),
      member.expiresAt,
    );
    const lease = db.prepare(
      `INSERT INTO bus_leases (group_name, topic_id, part, member_id, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (group_name, topic_id, part) DO UPDATE SET member_id = excluded.member_id, expires_at = excluded.expires_at`,
    );
    for (let part = 0; part < topicRow.partitions; part++) {
      lease.run(group, topicRow.id, part, member.id, member.expiresAt);
    }
  });
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('SqliteTransport: consumer groups', () => {
  const opened: SqliteTransport[] = [];
  const openBus = (filename: string, options: Partial<SqliteTransportOptions> = {}) => {
    const transport = new SqliteTransport({ heartbeatIntervalMs: 50, ...options, filename });
    opened.push(transport);
    return transport;
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    cleanupTemp();
  });

  it('splits partitions fairly between members on different connections', async () => {
    const file = tempBusFile();
    const [a, b] = [openBus(file), openBus(file)];
    await a.ensureTopics([{ name: 't', partitions: 8 }]);
    const owner = new Map<number, string>();
    const handled: string[] = [];
    const handler = (name: string) => async (r: { partition: number; value: Buffer }) => {
      expect(owner.get(r.partition) ?? name).toBe(name);
      owner.set(r.partition, name);
      handled.push(r.value.toString());
    };
    await a.consume({ group: 'g', topics: ['t'] }, handler('a'));
    await b.consume({ group: 'g', topics: ['t'] }, handler('b'));
    await waitFor(
      () => {
        const counts = [...leaseHolders(file, 'g').values()];
        return counts.length === 2 && counts.every((n) => n === 4);
      },
      { description: 'four partitions each' },
    );
    await a.send(
      't',
      Array.from({ length: 200 }, (_, i) => message(`key-${i}`, `v${i}`)),
    );
    await waitFor(() => handled.length === 200, { description: 'all 200 records' });
    expect(new Set(handled).size).toBe(200);
    expect(new Set(owner.values())).toEqual(new Set(['a', 'b']));
  });

  it('hands partitions over without loss or duplicates while members join and leave', async () => {
    const file = tempBusFile();
    const producer = openBus(file);
    await producer.ensureTopics([{ name: 't', partitions: 8 }]);
    const handled: Array<{ key: string; seq: number }> = [];
    const handler = async (r: { key: string; value: Buffer }) => {
      if (Math.random() < 0.2) await new Promise((resolve) => setImmediate(resolve));
      handled.push({ key: r.key, seq: Number(r.value.toString()) });
    };
    const keys = Array.from({ length: 32 }, (_, i) => `k${i}`);
    const perKey = 60;
    let sent = 0;
    const publishing = (async () => {
      for (let seq = 0; seq < perKey; seq++) {
        await producer.send(
          't',
          keys.map((k) => message(k, String(seq))),
        );
        sent += keys.length;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const members: TransportConsumer[] = [];
    const transports = [openBus(file), openBus(file), openBus(file)];
    for (const transport of transports) {
      members.push(await transport.consume({ group: 'g', topics: ['t'] }, handler));
      await waitFor(() => handled.length > members.length * 100 || sent === keys.length * perKey);
    }
    // Graceful leaves: each drains and commits before its partitions move.
    await members[0].stop();
    await waitFor(() => handled.length > 1200 || sent === keys.length * perKey);
    await members[1].stop();
    await publishing;
    await waitFor(() => handled.length >= keys.length * perKey, {
      description: 'every record handled',
      timeoutMs: 20_000,
    });
    expect(handled).toHaveLength(keys.length * perKey);
    for (const key of keys) {
      const seqs = handled.filter((h) => h.key === key).map((h) => h.seq);
      expect(seqs).toEqual(Array.from({ length: perKey }, (_, i) => i));
    }
  });

  it('takes the leases of a member whose process is dead at once', async () => {
    const file = tempBusFile();
    // A session far longer than the test: only the pid check can free the partitions.
    const bus = openBus(file, { sessionTimeoutMs: 600_000 });
    await bus.ensureTopics([{ name: 't', partitions: 4 }]);
    plantMember(file, 'g', 't', {
      id: 'dead-member',
      host: hostname(),
      pid: deadPid(),
      expiresAt: Date.now() + 600_000,
    });
    await bus.send('t', [message('a'), message('b'), message('c')]);
    const handled: string[] = [];
    await bus.consume({ group: 'g', topics: ['t'] }, async (r) => void handled.push(r.key));
    await waitFor(() => handled.length === 3, { description: 'the dead member’s partitions' });
    const holders = leaseHolders(file, 'g');
    expect([...holders.values()]).toEqual([4]);
    expect(holders.has('dead-member')).toBe(false);
  });

  it('takes the leases of a member on another host only once its session expired', async () => {
    const file = tempBusFile();
    const bus = openBus(file);
    await bus.ensureTopics([{ name: 't', partitions: 4 }]);
    const expiresAt = Date.now() + 400;
    plantMember(file, 'g', 't', { id: 'remote', host: 'elsewhere', pid: process.pid, expiresAt });
    await bus.send('t', [message('a')]);
    let handledAt = 0;
    await bus.consume({ group: 'g', topics: ['t'] }, async () => void (handledAt = Date.now()));
    await waitFor(() => handledAt > 0, { description: 'takeover after the session expired' });
    expect(handledAt).toBeGreaterThanOrEqual(expiresAt);
  });

  it('fences a member whose lease was taken: its signal aborts and its commit is refused', async () => {
    const file = tempBusFile();
    const bus = openBus(file);
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    await bus.send('t', [message('k')]);
    let signal: AbortSignal | undefined;
    let finish!: () => void;
    await bus.consume({ group: 'g', topics: ['t'] }, async (_r, controls) => {
      signal = controls.signal;
      await parked(controls.signal, (release) => (finish = release));
    });
    await waitFor(() => signal, { description: 'the handler to start' });
    // Another host's member takes the lease, as if this process had stalled past its session.
    plantMember(file, 'g', 't', {
      id: 'usurper',
      host: 'elsewhere',
      pid: 1,
      expiresAt: Date.now() + 60_000,
    });
    await waitFor(() => signal!.aborted, { description: 'the signal to abort' });
    finish();
    bus.flushWrites();
    expect(committedOffsets(file, 'g').get('t:0')).toBeUndefined();
    expect(leaseHolders(file, 'g').get('usurper')).toBe(1);
  });

  it('abandon() aborts handlers, commits nothing in flight, and frees its partitions for peers', async () => {
    const file = tempBusFile();
    const crashing = new SqliteTransport({ filename: file, heartbeatIntervalMs: 50 });
    await crashing.ensureTopics([{ name: 't', partitions: 2 }]);
    await crashing.send('t', [message('k', 'one'), message('k', 'two')]);
    let signal: AbortSignal | undefined;
    const handled: string[] = [];
    await crashing.consume({ group: 'g', topics: ['t'] }, async (r, controls) => {
      if (r.value.toString() === 'two') {
        signal = controls.signal;
        await new Promise(() => undefined); // never finishes: the process "dies" here
      }
      handled.push(r.value.toString());
    });
    await waitFor(() => signal, { description: 'the second record in flight' });
    crashing.abandon();
    expect(signal!.aborted).toBe(true);

    const peer = openBus(file);
    const seen: string[] = [];
    await peer.consume(
      { group: 'g', topics: ['t'] },
      async (r) => void seen.push(r.value.toString()),
    );
    await waitFor(() => seen.length === 1, { description: 'the uncommitted record at the peer' });
    expect(handled).toEqual(['one']);
    expect(seen).toEqual(['two']);
  });

  it('keeps its session while a stop drains a handler longer than the session timeout', async () => {
    const file = tempBusFile();
    const options = { sessionTimeoutMs: 300, heartbeatIntervalMs: 50 };
    const [a, b] = [openBus(file, options), openBus(file, options)];
    await a.ensureTopics([{ name: 't', partitions: 1 }]);
    await a.send('t', [message('k', 'slow')]);
    let started = false;
    let finish!: () => void;
    const consumer = await a.consume({ group: 'g', topics: ['t'] }, async (_r, controls) => {
      started = true;
      await parked(controls.signal, (release) => (finish = release));
    });
    await waitFor(() => started, { description: 'the slow handler' });
    const atPeer: string[] = [];
    await b.consume({ group: 'g', topics: ['t'] }, async (r) => void atPeer.push(r.offset));
    const stopped = consumer.stop();
    // Three sessions pass while the handler runs; the peer must still wait for the release.
    const until = Date.now() + 3 * options.sessionTimeoutMs;
    await waitFor(() => Date.now() >= until, { description: 'three session timeouts' });
    expect(atPeer).toEqual([]);
    finish();
    await stopped;
    expect(committedOffsets(file, 'g').get('t:0')).toBe(1);
    await a.send('t', [message('k', 'next')]);
    await waitFor(() => atPeer.length === 1, { description: 'the peer to take over' });
    expect(atPeer).toEqual(['1']);
  });

  it('heartbeat() renews the session during a long handler', async () => {
    const file = tempBusFile();
    const bus = openBus(file, { sessionTimeoutMs: 60_000 });
    await bus.send('t', [message('k')]);
    const before = Date.now();
    let renewed = false;
    await bus.consume({ group: 'g', topics: ['t'] }, async (_r, controls) => {
      await controls.heartbeat();
      renewed = true;
    });
    await waitFor(() => renewed, { description: 'the heartbeat' });
    const expiry = inspect(file, (db) =>
      db.prepare("SELECT max(expires_at) FROM bus_members WHERE group_name = 'g'").pluck().get(),
    ) as number;
    expect(expiry).toBeGreaterThanOrEqual(before + 60_000);
  });
});
