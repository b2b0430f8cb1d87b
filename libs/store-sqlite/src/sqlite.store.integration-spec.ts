import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { createEnvelope } from '@leash/contracts';
import {
  ConcurrencyError,
  DocumentValidationError,
  NotFoundError,
  OutboxRelay,
  defineAggregate,
} from '@leash/store';
import { describeStoreContract, type OpenedStore } from '@leash/contract-suites';
import { startSqliteCensus } from '@leash/sqlite-wal';
import { waitFor } from '@leash/testing';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite.store';

const root = mkdtempSync(join(tmpdir(), 'leash-store-sqlite-'));
let files = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

function removeFiles(filename: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(filename + suffix, { force: true });
}

async function openAt(filename = join(root, `store-${++files}.db`)): Promise<OpenedStore> {
  const store = await openSqliteStore({ filename });
  return {
    store,
    location: filename,
    async cleanup() {
      await store.close();
      removeFiles(filename);
    },
  };
}

describeStoreContract('sqlite', openAt);

const Counter = z.object({ counterId: z.string(), value: z.number().int() });
const counters = defineAggregate({
  name: 'counter',
  schema: Counter,
  id: (c) => c.counterId,
});
/** The same documents with an index on `value`, as a later version of the code might declare them. */
const indexed = defineAggregate({
  name: 'counter',
  schema: Counter,
  id: (c) => c.counterId,
  indexes: ['value'],
});

describe('sqlite store', () => {
  const open: SqliteStore[] = [];
  let filename: string;

  beforeEach(() => {
    filename = join(root, `store-${++files}.db`);
  });

  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
    removeFiles(filename);
  });

  async function connect(
    options: Pick<SqliteStoreOptions, 'busyTimeoutMs' | 'commitGroup'> = {},
  ): Promise<SqliteStore> {
    const store = await openSqliteStore({ filename, ...options });
    open.push(store);
    return store;
  }

  it('loses no update when two connections to one file increment in transactions', async () => {
    // Two connections stand in for two processes: each has its own lock and only
    // SQLite's file lock orders them.
    const a = await connect();
    const b = await connect();
    await a.repository(counters).insert({ counterId: 'c', value: 0 });
    const perConnection = 25;
    const increment = (store: SqliteStore) =>
      store.transaction(async (tx) => {
        const repo = tx.repository(counters);
        const current = await repo.get('c');
        if (!current) throw new Error('counter vanished');
        await new Promise((resolve) => setImmediate(resolve)); // hold the write lock across a turn
        await repo.update({ counterId: 'c', value: current.doc.value + 1 }, current.version);
      });
    await Promise.all(
      Array.from({ length: perConnection }, () => [increment(a), increment(b)]).flat(),
    );
    expect(await b.repository(counters).get('c')).toMatchObject({
      doc: { value: 2 * perConnection },
      version: 2 * perConnection + 1,
    });
  });

  it('fails a transaction with a transient StoreBusyError when another holds the lock too long', async () => {
    const a = await connect();
    const b = await connect({ busyTimeoutMs: 50 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const holder = a.transaction(async (tx) => {
      await tx.repository(counters).upsert({ counterId: 'c', value: 1 });
      entered();
      await held;
    });
    await inside;
    const error = await b
      .transaction((tx) => tx.repository(counters).upsert({ counterId: 'c', value: 2 }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'StoreBusyError', transient: true });
    release();
    await holder;
    expect((await b.repository(counters).get('c'))?.doc.value).toBe(1);
  });

  it('relays entries committed by another connection, found by polling', async () => {
    const producer = await connect();
    const relayStore = await connect();
    const published: string[] = [];
    const relay = new OutboxRelay({
      outbox: relayStore.outbox,
      bus: {
        async publish(topic, envelope) {
          published.push(envelope.id);
          return { topic, partition: 0, offset: String(published.length) };
        },
      },
      pollIntervalMs: 10,
    });
    relay.start();
    try {
      await producer.transaction((tx) =>
        tx.outbox.enqueue(
          'tasks.requested',
          createEnvelope(
            'leash.tasks.requested.v1',
            { agent: 'support', input: 'hello' },
            { source: 'test', taskId: 't1', id: 'e1' },
          ),
        ),
      );
      await waitFor(() => published.length === 1, { description: 'polled entry published' });
      expect(published).toEqual(['e1']);
    } finally {
      await relay.stop();
    }
  });

  describe('outbox entries this connection committed', () => {
    const event = (id: string, taskId = 't1') =>
      createEnvelope(
        'leash.tasks.requested.v1',
        { agent: 'support', input: 'hello' },
        { source: 'test', taskId, id },
      );
    /** Rows in the outbox table, as another connection sees them. */
    const rowsInTable = () => {
      const reader = new Database(filename, { readonly: true });
      try {
        return reader.prepare('SELECT count(*) FROM _leash_outbox').pluck().get() as number;
      } finally {
        reader.close();
      }
    };

    it('are handed to the relay as enqueued, never a rolled-back one, and sent rows go with a later commit', async () => {
      const store = await connect();
      expect(await store.outbox.pending(10)).toEqual([]); // read from the table: now known whole
      await expect(
        store.transaction(async (tx) => {
          await tx.outbox.enqueue('tasks.requested', event('gone'));
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      const kept = event('e1');
      await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', kept));

      const [entry, ...rest] = await store.outbox.pending(10);
      expect(rest).toEqual([]);
      // The very object enqueued: the pass read nothing back from the table.
      expect(entry!.envelope).toBe(kept);
      expect(entry).toMatchObject({ topic: 'tasks.requested', key: 't1', attempts: 0 });

      await store.outbox.markSent([entry!.id]);
      expect(await store.outbox.pending(10)).toEqual([]);
      expect(rowsInTable()).toBe(1); // deleted with the next commit, not one of its own
      await store.repository(counters).insert({ counterId: 'c', value: 1 });
      expect(rowsInTable()).toBe(0);
    });

    it('have their sent rows deleted on their own when no other commit comes', async () => {
      const store = await connect();
      await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', event('e1')));
      const [entry] = await store.outbox.pending(10);
      await store.outbox.markSent([entry!.id]);
      await waitFor(() => rowsInTable() === 0, { description: 'sent row deleted' });
      expect(await store.outbox.pending(10)).toEqual([]);
    });

    it('are read from the table again once another connection has sent them', async () => {
      const a = await connect();
      const b = await connect();
      await a.transaction((tx) => tx.outbox.enqueue('tasks.requested', event('e1')));
      expect((await a.outbox.pending(10)).map((e) => e.envelope.id)).toEqual(['e1']);
      const [seen] = await b.outbox.pending(10);
      await b.outbox.markSent([seen!.id]);
      await b.close(); // its last commit deletes the sent row
      expect(await a.outbox.pending(10)).toEqual([]);
    });

    it('keep a failed attempt on the entry, as the table does', async () => {
      const store = await connect();
      expect(await store.outbox.pending(10)).toEqual([]);
      await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', event('e1')));
      const [entry] = await store.outbox.pending(10);
      await store.outbox.markFailed(entry!.id, 'bus unavailable');
      const [fromMemory] = await store.outbox.pending(10);
      expect(fromMemory).toMatchObject({ attempts: 1, lastError: 'bus unavailable' });
      const other = await connect();
      expect(await other.outbox.pending(10)).toEqual([fromMemory]);
    });
  });

  it('reports a stored document that no longer matches its schema', async () => {
    const store = await connect();
    await store.repository(counters).insert({ counterId: 'c', value: 1 });
    const raw = new Database(filename);
    raw.prepare(`UPDATE agg_counter SET body = json_set(body, '$.value', 'one')`).run();
    raw.close();
    const error = await store
      .repository(counters)
      .get('c')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DocumentValidationError);
    expect(error).toMatchObject({ aggregate: 'counter', id: 'c' });
  });

  it('checks a document read back against its schema unless it is the text this store wrote', async () => {
    const store = await connect();
    const repo = store.repository(counters);
    const parse = jest.spyOn(counters.schema, 'safeParse');
    try {
      await repo.insert({ counterId: 'c', value: 1 });
      expect(parse).toHaveBeenCalledTimes(1); // the write
      expect((await repo.get('c'))?.doc).toEqual({ counterId: 'c', value: 1 });
      expect(parse).toHaveBeenCalledTimes(1); // its own text: no check

      // A valid change made by someone else is checked.
      const raw = new Database(filename);
      raw.prepare(`UPDATE agg_counter SET body = json_set(body, '$.value', 2)`).run();
      raw.close();
      expect((await repo.get('c'))?.doc).toEqual({ counterId: 'c', value: 2 });
      expect(parse).toHaveBeenCalledTimes(2);

      // A write that rolled back is remembered but not stored: the read is checked.
      await store
        .transaction(async (tx) => {
          await tx.repository(counters).update({ counterId: 'c', value: 3 }, 1);
          throw new Error('roll back');
        })
        .catch(() => undefined);
      parse.mockClear();
      expect((await repo.get('c'))?.doc).toEqual({ counterId: 'c', value: 2 });
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('deletes inbox claims older than the retention, so the inbox stops growing', async () => {
    const store = await connect();
    const claim = (eventId: string) => store.transaction((tx) => tx.inbox.claim('c', eventId));
    expect(await claim('e1')).toBe(true);
    expect(await claim('e1')).toBe(false);
    expect(await store.pruneInbox()).toBe(0); // within the retention: still a duplicate
    expect(await claim('e1')).toBe(false);
    expect(await store.pruneInbox(Date.now() + 8 * 24 * 60 * 60 * 1000)).toBe(1);
    expect(await claim('e1')).toBe(true);
    const keepAll = await openSqliteStore({ filename, inboxRetentionMs: null });
    open.push(keepAll);
    expect(await keepAll.pruneInbox(Date.now() + 365 * 24 * 60 * 60 * 1000)).toBe(0);
    await expect(openSqliteStore({ filename, inboxRetentionMs: 0 })).rejects.toThrow(
      /inboxRetentionMs/,
    );
  });

  it('adds an index to an existing table, covering documents written before it', async () => {
    const before = await connect();
    await before.repository(counters).insert({ counterId: 'a', value: 2 });
    await before.repository(counters).insert({ counterId: 'b', value: 1 });
    await before.close();

    const after = await connect();
    const found = await after.repository(indexed).find({ orderBy: 'value' });
    expect(found.map((f) => f.id)).toEqual(['b', 'a']);
    const raw = new Database(filename, { readonly: true });
    const plan = raw
      .prepare(`EXPLAIN QUERY PLAN SELECT id FROM agg_counter WHERE ix_value = 1`)
      .all() as { detail: string }[];
    raw.close();
    expect(plan.map((p) => p.detail).join(' ')).toMatch(
      /USING (COVERING )?INDEX agg_counter__value/,
    );
  });

  it('keeps index columns in step with every kind of write', async () => {
    const store = await connect();
    const repo = store.repository(indexed);
    const ids = async (value: number) => (await repo.find({ where: { value } })).map((f) => f.id);
    await repo.insert({ counterId: 'a', value: 1 });
    await repo.update({ counterId: 'a', value: 2 }, 1); // the indexed value changes
    await repo.upsert({ counterId: 'b', value: 2 }); // an upsert that inserts
    await repo.upsert({ counterId: 'b', value: 3 }); // one that replaces, value changed
    await repo.upsert({ counterId: 'b', value: 3 }); // and one that leaves it as it was
    expect(await ids(1)).toEqual([]);
    expect(await ids(2)).toEqual(['a']);
    expect(await ids(3)).toEqual(['b']);
    expect((await repo.get('b'))?.version).toBe(3);
    await expect(repo.update({ counterId: 'a', value: 9 }, 1)).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    await expect(repo.update({ counterId: 'zz', value: 9 }, 1)).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await ids(9)).toEqual([]);
  });

  it('replaces a document a transaction read without reading its row again, index columns in step', async () => {
    const store = await connect();
    const repo = store.repository(indexed);
    await repo.insert({ counterId: 'a', value: 1 });
    await repo.insert({ counterId: 'b', value: 5 });
    const census = startSqliteCensus();
    try {
      await store.transaction(async (tx) => {
        const txRepo = tx.repository(indexed);
        const a = (await txRepo.get('a'))!;
        await txRepo.update({ counterId: 'a', value: 2 }, a.version); // the indexed value changes
        await txRepo.update({ counterId: 'a', value: 3 }, a.version + 1); // again, from what it wrote
        const b = (await txRepo.get('b'))!;
        await txRepo.upsert({ counterId: 'b', value: b.doc.value }); // an upsert that changes no column
        await expect(txRepo.update({ counterId: 'b', value: 7 }, 1)).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
      });
    } finally {
      census.stop();
    }
    const statements = Object.values(census.counts().byFile).reduce((n, f) => n + f.statements, 0);
    // BEGIN, SAVEPOINT, 2 reads, 3 updates, RELEASE, COMMIT: no read before a write.
    expect(statements).toBe(9);
    const ids = async (value: number) => (await repo.find({ where: { value } })).map((f) => f.id);
    expect(await ids(1)).toEqual([]);
    expect(await ids(2)).toEqual([]);
    expect(await ids(3)).toEqual(['a']);
    expect(await ids(5)).toEqual(['b']);
    expect((await repo.get('a'))?.version).toBe(3);
    expect((await repo.get('b'))?.version).toBe(2);
  });

  it('turns the generated index columns of an older store into plain ones, rows included', async () => {
    const old = new Database(filename);
    old.exec(`
      CREATE TABLE agg_counter (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL);
      ALTER TABLE agg_counter ADD COLUMN ix_value GENERATED ALWAYS AS (json_extract(body, '$.value')) VIRTUAL;
      CREATE INDEX agg_counter__value ON agg_counter (ix_value, id);
      INSERT INTO agg_counter (id, version, body) VALUES ('a', 1, '{"counterId":"a","value":2}');
      INSERT INTO agg_counter (id, version, body) VALUES ('b', 1, '{"counterId":"b","value":1}');
    `);
    old.close();

    const store = await connect();
    const repo = store.repository(indexed);
    expect((await repo.find({ orderBy: 'value' })).map((f) => f.id)).toEqual(['b', 'a']);
    await repo.update({ counterId: 'b', value: 5 }, 1);
    expect((await repo.find({ where: { value: 5 } })).map((f) => f.id)).toEqual(['b']);

    const raw = new Database(filename, { readonly: true });
    try {
      const columns = raw.prepare('PRAGMA table_xinfo(agg_counter)').all() as {
        name: string;
        hidden: number;
      }[];
      expect(columns.find((c) => c.name === 'ix_value')?.hidden).toBe(0);
      const plan = raw
        .prepare('EXPLAIN QUERY PLAN SELECT id FROM agg_counter WHERE ix_value = 1')
        .all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/INDEX agg_counter__value/);
    } finally {
      raw.close();
    }
  });

  it('commits queued transactions together, each still on its own terms', async () => {
    const store = await connect();
    await store.repository(counters).insert({ counterId: 'base', value: 0 });
    const order: string[] = [];
    const write = (id: string, fail = false) =>
      store
        .transaction(async (tx) => {
          await tx.repository(counters).insert({ counterId: id, value: 1 });
          if (fail) throw new Error(`${id} fails`);
          return id;
        })
        .then(
          (value) => order.push(`${value} committed`),
          (error: Error) => order.push(error.message),
        );
    // Queued in one turn: they share a commit group, and the failure rolls back only its own work.
    await Promise.all([write('a'), write('b', true), write('c'), write('d')]);
    // Whether the failure resolves first depends on where the group closed (it closes early under load).
    expect(order.sort()).toEqual(['a committed', 'b fails', 'c committed', 'd committed']);
    const ids = (await store.repository(counters).find()).map((c) => c.id);
    expect(ids).toEqual(['a', 'base', 'c', 'd']);
    // A second connection (another process) sees exactly what the group committed.
    const other = await connect();
    expect(await other.repository(counters).count()).toBe(4);
  });

  it('resolves a transaction only once its group has committed', async () => {
    // No age limit on the group: on a loaded machine it could otherwise close before the second joins.
    const store = await connect({ commitGroup: { maxDelayMs: 60_000 } });
    const other = await connect();
    await store.repository(counters).insert({ counterId: 'base', value: 0 });
    expect(await other.repository(counters).count()).toBe(1);
    let firstDone = false;
    let seenByOtherWhenDone = -1;
    const first = store
      .transaction((tx) => tx.repository(counters).insert({ counterId: 'x', value: 1 }))
      .then(async () => {
        firstDone = true;
        seenByOtherWhenDone = await other.repository(counters).count();
      });
    const second = store.transaction(async (tx) => {
      // Runs while the first waits for the group: nothing of it is visible elsewhere yet.
      expect(firstDone).toBe(false);
      expect(await other.repository(counters).count()).toBe(1);
      await tx.repository(counters).insert({ counterId: 'y', value: 1 });
    });
    await Promise.all([first, second]);
    expect(seenByOtherWhenDone).toBe(3);
  });

  it('forgets a table created inside a transaction that rolled back', async () => {
    const store = await connect();
    await expect(
      store.transaction(async (tx) => {
        await tx.repository(counters).insert({ counterId: 'c', value: 1 });
        throw new Error('roll back the table too');
      }),
    ).rejects.toThrow('roll back');
    expect(await store.repository(counters).get('c')).toBeUndefined();
    await store.repository(counters).insert({ counterId: 'c', value: 1 });
    expect(await store.repository(counters).count()).toBe(1);
  });
});
