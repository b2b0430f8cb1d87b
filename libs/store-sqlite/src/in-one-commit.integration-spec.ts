import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createEnvelope } from '@leash/contracts';
import { StoreBusyError, StoreError, defineAggregate } from '@leash/store';
import { startSqliteCensus } from '@leash/sqlite-wal';
import { waitFor } from '@leash/testing';
import { openSqliteStore, type SqliteStore } from './sqlite.store';

/*
 * Store.inOneCommit on SQLite: a batch of transactions in one commit group
 * that commits once, after the batch, or not at all.
 */

const root = mkdtempSync(join(tmpdir(), 'leash-in-one-commit-'));
let files = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const Counter = z.object({ counterId: z.string(), value: z.number().int() });
const counters = defineAggregate({ name: 'counter', schema: Counter, id: (c) => c.counterId });

function taskEvent(taskId: string) {
  return createEnvelope(
    'leash.tasks.requested.v1',
    { agent: 'support', input: 'hello' },
    { source: 'spec', tenantId: 'acme', taskId },
  );
}

describe('sqlite store: inOneCommit', () => {
  let store: SqliteStore;
  let filename: string;

  beforeEach(async () => {
    filename = join(root, `store-${++files}.db`);
    store = await openSqliteStore({ filename, checkpointIntervalMs: 0 });
    // The table exists before the counts start.
    await store.repository(counters).insert({ counterId: 'seed', value: 0 });
  });

  afterEach(async () => {
    await store.close();
  });

  /** Commits of the store's file while `work` runs. */
  async function commitsDuring(work: () => Promise<unknown>): Promise<number> {
    const census = startSqliteCensus();
    try {
      await work();
    } finally {
      census.stop();
    }
    return census.counts().byFile[filename]?.commits ?? 0;
  }

  it('commits every transaction of the batch once, after the batch, each seeing the ones before', async () => {
    const seen: (number | undefined)[] = [];
    const commits = await commitsDuring(() =>
      store.inOneCommit(async () => {
        for (let i = 0; i < 5; i++) {
          await store.transaction(async (tx) => {
            const repo = tx.repository(counters);
            const current = await repo.get('c');
            seen.push(current?.doc.value);
            await repo.upsert({ counterId: 'c', value: (current?.doc.value ?? 0) + 1 });
          });
        }
        // A read outside a transaction sees the batch's writes, and does not wait for its commit.
        seen.push((await store.repository(counters).get('c'))?.doc.value);
      }),
    );
    expect(seen).toEqual([undefined, 1, 2, 3, 4, 5]);
    expect(commits).toBe(1);
    expect((await store.repository(counters).get('c'))?.doc.value).toBe(5);
  });

  it('commits the same transactions one by one without a batch', async () => {
    const commits = await commitsDuring(async () => {
      for (let i = 0; i < 5; i++) {
        await store.transaction((tx) =>
          tx.repository(counters).upsert({ counterId: 'c', value: i }),
        );
      }
    });
    expect(commits).toBe(5);
  });

  it('rolls back every transaction of a batch that rejects, and rethrows its error', async () => {
    const failure = new Error('the third event is poison');
    await expect(
      store.inOneCommit(async () => {
        await store.transaction(async (tx) => {
          await tx.repository(counters).insert({ counterId: 'a', value: 1 });
          await tx.inbox.claim('spec', 'event-a');
          await tx.outbox.enqueue('tasks.requested', taskEvent('task-a'));
        });
        await store.transaction((tx) =>
          tx.repository(counters).insert({ counterId: 'b', value: 2 }),
        );
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await store.repository(counters).get('a')).toBeUndefined();
    expect(await store.repository(counters).get('b')).toBeUndefined();
    expect(await store.outbox.pending(10)).toEqual([]);
    // The claim went with the rest: the event is new to the inbox when it comes again.
    expect(await store.transaction((tx) => tx.inbox.claim('spec', 'event-a'))).toBe(true);
  });

  it('hands outbox entries to the relay only once the batch committed', async () => {
    let cues = 0;
    const stop = store.outbox.onEnqueued(() => (cues += 1));
    let pendingInside: number | undefined;
    await store.inOneCommit(async () => {
      await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', taskEvent('task-1')));
      await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', taskEvent('task-2')));
      pendingInside = cues;
    });
    stop();
    expect(pendingInside).toBe(0);
    expect(cues).toBeGreaterThan(0);
    expect((await store.outbox.pending(10)).map((e) => e.envelope.taskId)).toEqual([
      'task-1',
      'task-2',
    ]);
  });

  it('fails a transaction of someone else that shared the rolled-back commit with a transient error', async () => {
    let releaseBatch!: () => void;
    const batchMayEnd = new Promise<void>((resolve) => (releaseBatch = resolve));
    let joined!: () => void;
    const firstWritten = new Promise<void>((resolve) => (joined = resolve));
    const batch = store.inOneCommit(async () => {
      await store.transaction((tx) =>
        tx.repository(counters).insert({ counterId: 'mine', value: 1 }),
      );
      joined();
      await batchMayEnd;
      throw new Error('the batch failed');
    });
    await firstWritten;
    // Joins the group the batch holds open, and waits for its commit.
    let otherRan = false;
    const other = store.transaction(async (tx) => {
      await tx.repository(counters).insert({ counterId: 'theirs', value: 1 });
      otherRan = true;
    });
    const otherOutcome = other.then(
      () => 'committed',
      (error: unknown) => error,
    );
    await waitFor(() => otherRan, { description: 'the other transaction ran in the held group' });
    releaseBatch();
    await expect(batch).rejects.toThrow('the batch failed');
    const outcome = await otherOutcome;
    expect(outcome).toBeInstanceOf(StoreBusyError);
    expect((outcome as { transient?: boolean }).transient).toBe(true);
    expect(await store.repository(counters).get('theirs')).toBeUndefined();
    // Run again, it commits.
    await store.transaction((tx) =>
      tx.repository(counters).insert({ counterId: 'theirs', value: 1 }),
    );
    expect((await store.repository(counters).get('theirs'))?.doc.value).toBe(1);
  });

  it('keeps a failed transaction of the batch from taking the rest with it when the batch goes on', async () => {
    await store.inOneCommit(async () => {
      await store.transaction((tx) => tx.repository(counters).insert({ counterId: 'x', value: 1 }));
      await expect(
        store.transaction(async (tx) => {
          await tx.repository(counters).insert({ counterId: 'y', value: 1 });
          throw new Error('this one alone');
        }),
      ).rejects.toThrow('this one alone');
    });
    expect((await store.repository(counters).get('x'))?.doc.value).toBe(1);
    expect(await store.repository(counters).get('y')).toBeUndefined();
  });

  it('refuses a batch inside a batch, and inside a transaction', async () => {
    await expect(store.inOneCommit(() => store.inOneCommit(async () => 1))).rejects.toThrow(
      StoreError,
    );
    await expect(store.transaction(() => store.inOneCommit(async () => 1))).rejects.toThrow(
      /inside store.transaction/,
    );
  });
});
