import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from '@leash/testing';
import {
  cleanupTemp,
  committedOffsets,
  exited,
  inspect,
  leaseHolders,
  spawnFixture,
  tempDir,
} from '../test/bus-files';
import { SqliteTransport } from './sqlite.transport';

/** One line of a fixture log: `partition offset value`. */
interface Logged {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

/** Reads complete lines only: the writer may be mid-line when we look, or killed there. */
function readLog(path: string): Logged[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, value] = line.split(' ');
      return { partition: Number(partition), offset: Number(offset), value };
    });
}

const id = (r: { partition: number; offset: number }) => `${r.partition}@${r.offset}`;

function fixture(args: Record<string, unknown>): ChildProcess {
  return spawnFixture('stream.fixture.ts', [JSON.stringify(args)]);
}

function printed(child: ChildProcess, line: string): () => boolean {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return () => out.split('\n').includes(line);
}

const SLOW_START = { timeoutMs: 30_000 }; // a child process compiles TypeScript on start

describe('SqliteTransport: several processes on one file', () => {
  const opened: SqliteTransport[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    cleanupTemp();
  });

  it('delivers what another process publishes, in order per key', async () => {
    const dir = tempDir();
    const file = join(dir, 'bus.db');
    const bus = new SqliteTransport({ filename: file });
    opened.push(bus);
    await bus.ensureTopics([{ name: 'stream', partitions: 8 }]);
    const seen = new Map<string, number[]>();
    let count = 0;
    await bus.consume({ group: 'local', topics: ['stream'] }, async (r) => {
      const [key, seq] = r.value.toString().split(':');
      seen.set(key, [...(seen.get(key) ?? []), Number(seq)]);
      count++;
    });
    const child = fixture({ file, topic: 'stream', publish: 3000, keys: 16 });
    await waitFor(() => count === 3000, { ...SLOW_START, description: '3000 records' });
    await exited(child);
    expect(child.exitCode).toBe(0);
    for (const seqs of seen.values()) {
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    expect([...seen.values()].flat()).toHaveLength(3000);
  });

  it('shares a group with another process and takes over at once when it is killed', async () => {
    const dir = tempDir();
    const file = join(dir, 'bus.db');
    const childLog = join(dir, 'child-handled.log');
    // Sessions far longer than the test: only the dead-pid check can explain a fast takeover.
    const options = { sessionTimeoutMs: 600_000, heartbeatIntervalMs: 100 };
    const bus = new SqliteTransport({ filename: file, ...options });
    opened.push(bus);
    await bus.ensureTopics([{ name: 'stream', partitions: 8 }]);
    const child = fixture({
      file,
      topic: 'stream',
      group: 'shared',
      handledLog: childLog,
      options,
    });
    const ready = printed(child, 'ready');
    await waitFor(ready, { ...SLOW_START, description: 'the child to join' });
    const mine: string[] = [];
    await bus.consume({ group: 'shared', topics: ['stream'] }, async (r) => {
      mine.push(`${r.partition}@${r.offset}`);
    });
    await waitFor(
      () => {
        const counts = [...leaseHolders(file, 'shared').values()];
        return counts.length === 2 && counts.every((n) => n === 4);
      },
      { description: 'four partitions per process' },
    );

    const first = await bus.send(
      'stream',
      Array.from({ length: 400 }, (_, i) => ({
        key: `k${i}`,
        value: Buffer.from(`v${i}`),
        headers: {},
      })),
    );
    await waitFor(() => mine.length + readLog(childLog).length === 400, {
      description: 'both processes to handle the batch',
    });
    const theirs = readLog(childLog).map(id);
    expect(mine.length).toBeGreaterThan(0);
    expect(theirs.length).toBeGreaterThan(0);
    expect(new Set([...mine, ...theirs])).toEqual(
      new Set(first.map((r) => `${r.partition}@${r.offset}`)),
    );

    child.kill('SIGKILL');
    await exited(child);
    const killedAt = Date.now();
    await waitFor(() => [...leaseHolders(file, 'shared').values()].join() === '8', {
      description: 'this process to hold all eight partitions',
    });
    // Far below the session timeout: the dead pid freed the leases.
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    const second = await bus.send(
      'stream',
      Array.from({ length: 100 }, (_, i) => ({
        key: `k${i}`,
        value: Buffer.from(`w${i}`),
        headers: {},
      })),
    );
    await waitFor(() => second.every((r) => mine.includes(`${r.partition}@${r.offset}`)), {
      description: 'the new records handled here',
    });
  });

  it('survives SIGKILL mid-stream: every acknowledged event delivered, nothing committed delivered again', async () => {
    const dir = tempDir();
    const file = join(dir, 'bus.db');
    const publishedLog = join(dir, 'published.log');
    const firstLog = join(dir, 'handled-1.log');
    const secondLog = join(dir, 'handled-2.log');
    const common = { file, topic: 'stream', group: 'crash', options: { heartbeatIntervalMs: 100 } };

    const first = fixture({ ...common, handledLog: firstLog, publish: -1, publishedLog });
    await waitFor(() => readLog(publishedLog).length >= 2000 && readLog(firstLog).length >= 1000, {
      ...SLOW_START,
      description: 'the first run to publish and handle a stream',
    });
    first.kill('SIGKILL');
    await exited(first);
    expect(first.signalCode).toBe('SIGKILL');

    const acknowledged = readLog(publishedLog);
    const handledBefore = readLog(firstLog);
    const committed = committedOffsets(file, 'crash');
    // The kill landed mid-stream: some work committed, some published but not yet handled.
    expect([...committed.values()].some((next) => next > 0)).toBe(true);
    const ends = inspect(file, (db) =>
      db.prepare('SELECT part, next_offset AS next FROM bus_partitions').all(),
    ) as Array<{ part: number; next: number }>;
    const endOf = new Map(ends.map((e) => [e.part, e.next]));
    const committedTotal = [...committed.values()].reduce((a, b) => a + b, 0);
    expect(committedTotal).toBeLessThan([...endOf.values()].reduce((a, b) => a + b, 0));

    const second = fixture({ ...common, handledLog: secondLog });
    await waitFor(
      () => {
        const handled = readLog(secondLog);
        // Caught up: each partition handled from its commit to its end.
        return [...endOf].every(
          ([part, end]) =>
            handled.filter((r) => r.partition === part).length >=
            end - (committed.get(`stream:${part}`) ?? 0),
        );
      },
      { ...SLOW_START, description: 'the restarted process to catch up' },
    );
    second.kill('SIGTERM');
    await exited(second);
    expect(second.exitCode).toBe(0);

    const handledAfter = readLog(secondLog);
    const delivered = new Set([...handledBefore, ...handledAfter].map(id));
    // 1. Every event whose send resolved before the kill was delivered.
    const missing = acknowledged.filter((r) => !delivered.has(id(r)));
    expect(missing).toEqual([]);
    // 2. Nothing committed before the kill was delivered again to the group.
    const redelivered = handledAfter.filter(
      (r) => r.offset < (committed.get(`stream:${r.partition}`) ?? 0),
    );
    expect(redelivered).toEqual([]);
    // 3. The restart resumed exactly at each commit, in offset order, without gaps.
    for (const [part, end] of endOf) {
      const offsets = handledAfter.filter((r) => r.partition === part).map((r) => r.offset);
      const from = committed.get(`stream:${part}`) ?? 0;
      expect(offsets).toEqual(Array.from({ length: end - from }, (_, i) => from + i));
    }
  });
});
