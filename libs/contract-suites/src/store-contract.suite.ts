import { z } from 'zod';
import {
  EventValidationError,
  createEnvelope,
  type Envelope,
  type TopicName,
} from '@leash/contracts';
import {
  ConcurrencyError,
  DocumentValidationError,
  DuplicateError,
  NotFoundError,
  OutboxRelay,
  QueryError,
  StoreError,
  defineAggregate,
  transactionRetryingConflicts,
  type OutboxPublisher,
  type OutboxRelayOptions,
  type Store,
  type Transaction,
} from '@leash/store';
import { waitFor } from '@leash/testing';

/** A store the suite can use, with the handle to open the same data again. */
export interface OpenedStore {
  readonly store: Store;
  /** Opaque to the suite: a file path, a database name. Passed back to `open` to reopen the data. */
  readonly location: string;
  /** Closes the store if still open and deletes its data. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/** Opens a fresh, empty store; or, given a `location` from an earlier call, the same data again. */
export type OpenStore = (location?: string) => Promise<OpenedStore>;

const Reservation = z.object({
  reservationId: z.string().min(1),
  tenantId: z.string().min(1),
  taskId: z.string().min(1),
  status: z.enum(['open', 'settled', 'expired']),
  amountUsdMicros: z.number().int().nonnegative(),
  deadlineAt: z.iso.datetime(),
  urgent: z.boolean().default(false),
  reviewer: z.string().optional(),
  notes: z.array(z.string()).default([]),
});
type ReservationInput = z.input<typeof Reservation>;

const reservations = defineAggregate({
  name: 'contract_reservation',
  schema: Reservation,
  id: (r) => r.reservationId,
  indexes: [
    'taskId',
    ['tenantId', 'status', 'deadlineAt'],
    'amountUsdMicros',
    'urgent',
    'reviewer',
  ],
});

const counters = defineAggregate({
  name: 'contract_counter',
  schema: z.object({ counterId: z.string().min(1), value: z.number().int() }),
  id: (c) => c.counterId,
});

/** A schema that lets anything into an indexed field: the store itself must refuse non-scalars. */
const labels = defineAggregate({
  name: 'contract_label',
  schema: z.object({ labelId: z.string().min(1), label: z.unknown() }),
  id: (l) => l.labelId,
  indexes: ['label'],
});

function reservation(id: string, overrides: Partial<ReservationInput> = {}): ReservationInput {
  return {
    reservationId: id,
    tenantId: 'tenant-a',
    taskId: `task-${id}`,
    status: 'open',
    amountUsdMicros: 1_000,
    deadlineAt: '2030-01-01T10:00:00.000Z',
    ...overrides,
  };
}

type TaskEnvelope = Envelope<'leash.tasks.requested.v1'>;

function taskRequested(taskId: string, n: number): TaskEnvelope {
  return createEnvelope(
    'leash.tasks.requested.v1',
    { agent: 'it-helpdesk', input: `request ${n}` },
    {
      source: 'store-contract',
      tenantId: 'tenant-a',
      taskId,
      id: `${taskId}-event-${n}`,
      time: '2030-01-01T00:00:00.000Z',
    },
  );
}

interface Published {
  readonly topic: TopicName;
  readonly id: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A stand-in for the bus: records what was published; `fail` decides which attempts throw. */
function fakeBus(fail: (eventId: string, attempt: number) => boolean = () => false) {
  const published: Published[] = [];
  const attempts = new Map<string, number>();
  const bus: OutboxPublisher = {
    async publish(topic, envelope, options) {
      const attempt = (attempts.get(envelope.id) ?? 0) + 1;
      attempts.set(envelope.id, attempt);
      if (fail(envelope.id, attempt)) throw new Error(`bus unavailable (${envelope.id})`);
      published.push({
        topic,
        id: envelope.id,
        key: envelope.taskId ?? '',
        headers: options?.headers ?? {},
      });
      return { topic, partition: 0, offset: String(published.length - 1) };
    },
  };
  return { bus, published, attempts };
}

function idsOfKey(published: readonly Published[], key: string): string[] {
  return published.filter((p) => p.key === key).map((p) => p.id);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets other queued work run: not a timed wait, only a turn of the event loop. */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The behaviour every store adapter must show. Run it from the adapter's
 * integration spec: `describeStoreContract('sqlite', open)`.
 */
export function describeStoreContract(
  adapterName: string,
  open: OpenStore,
  options: {
    /**
     * False for a server that cannot run transactions (a MongoDB-compatible
     * server without them): the cases that need one are reported as skipped.
     */
    readonly transactions?: boolean;
    /**
     * False for a server whose filtered single-document update is not atomic
     * (FerretDB 1.x on SQLite: two updates from one version can both match).
     * MongoDB and every adapter here are atomic; the case is reported skipped.
     */
    readonly atomicUpdates?: boolean;
  } = {},
): void {
  const itWithTransactions = options.transactions === false ? it.skip : it;
  const itWithAtomicUpdates = options.atomicUpdates === false ? it.skip : it;
  describe(`store contract: ${adapterName}`, () => {
    let opened: OpenedStore;
    let store: Store;
    const extra: OpenedStore[] = [];
    const relays: OutboxRelay[] = [];

    function relay(options: Omit<OutboxRelayOptions, 'outbox'> & { store?: Store }): OutboxRelay {
      const instance = new OutboxRelay({
        pollIntervalMs: 60_000,
        retryDelayMs: 5,
        maxRetryDelayMs: 20,
        ...options,
        outbox: (options.store ?? store).outbox,
      });
      relays.push(instance);
      return instance;
    }

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });

    afterEach(async () => {
      for (const r of relays.splice(0)) await r.stop();
      for (const o of extra.splice(0)) await o.cleanup();
      await opened.cleanup();
    });

    describe('documents', () => {
      it('round-trips a document with its schema defaults applied, at version 1', async () => {
        const repo = store.repository(reservations);
        const inserted = await repo.insert(reservation('r1', { reviewer: 'ann' }));
        expect(inserted).toEqual({
          id: 'r1',
          version: 1,
          doc: { ...reservation('r1', { reviewer: 'ann' }), urgent: false, notes: [] },
        });
        expect(await repo.get('r1')).toEqual(inserted);
        expect(await repo.get('missing')).toBeUndefined();
      });

      it('gives every read a document of its own, so changing one changes nothing else', async () => {
        const repo = store.repository(reservations);
        await repo.insert(reservation('r1', { reviewer: 'ann' }));
        const first = (await repo.get('r1'))!.doc;
        first.notes.push('changed in place');
        const [found] = await repo.find({ where: { status: 'open' } });
        expect(found!.doc).not.toBe(first);
        expect(found!.doc.notes).toEqual([]);
        expect((await repo.get('r1'))!.doc.notes).toEqual([]);
      });

      it('rejects an invalid document with a clear error and writes nothing', async () => {
        const repo = store.repository(reservations);
        const error = await repo
          .insert(reservation('r1', { amountUsdMicros: -5 }))
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DocumentValidationError);
        expect((error as DocumentValidationError).aggregate).toBe('contract_reservation');
        expect((error as Error).message).toMatch(/contract_reservation/);
        expect((error as DocumentValidationError).issues.join('\n')).toMatch(/amountUsdMicros/);
        expect(await repo.get('r1')).toBeUndefined();
        expect(await repo.count()).toBe(0);

        await repo.insert(reservation('r2'));
        await expect(
          repo.update({ ...reservation('r2'), status: 'lost' } as never, 1),
        ).rejects.toBeInstanceOf(DocumentValidationError);
        expect((await repo.get('r2'))?.version).toBe(1);
      });

      it('refuses a list or an object in an indexed field, and writes nothing', async () => {
        const repo = store.repository(labels);
        for (const label of [['a', 'b'], { name: 'a' }, Number.NaN]) {
          const error = await repo.insert({ labelId: 'l1', label }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(DocumentValidationError);
          expect((error as Error).message).toContain('"label"');
        }
        expect(await repo.get('l1')).toBeUndefined();
        for (const label of ['a', 1, true, null, undefined]) {
          await repo.upsert({ labelId: 'l1', label });
        }
      });

      it('refuses a duplicate insert with DuplicateError and keeps the original', async () => {
        const repo = store.repository(reservations);
        await repo.insert(reservation('r1', { amountUsdMicros: 1 }));
        const error = await repo
          .insert(reservation('r1', { amountUsdMicros: 2 }))
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateError);
        expect(error).toMatchObject({ aggregate: 'contract_reservation', id: 'r1' });
        expect((await repo.get('r1'))?.doc.amountUsdMicros).toBe(1);
      });

      it('inserts only an absent id with insertIfAbsent, and says which', async () => {
        const repo = store.repository(reservations);
        expect(await repo.insertIfAbsent(reservation('r1', { amountUsdMicros: 1 }))).toMatchObject({
          id: 'r1',
          version: 1,
          doc: { amountUsdMicros: 1 },
        });
        expect(
          await repo.insertIfAbsent(reservation('r1', { amountUsdMicros: 2 })),
        ).toBeUndefined();
        expect(await repo.get('r1')).toMatchObject({ version: 1, doc: { amountUsdMicros: 1 } });
        await expect(repo.insertIfAbsent({ reservationId: 'bad' } as never)).rejects.toBeInstanceOf(
          DocumentValidationError,
        );
      });

      itWithTransactions(
        'keeps a transaction usable after insertIfAbsent meets an existing id',
        async () => {
          await store.repository(reservations).insert(reservation('r1', { amountUsdMicros: 1 }));
          const fresh = await store.transaction(async (tx) => {
            const repo = tx.repository(reservations);
            const outcomes = [
              await repo.insertIfAbsent(reservation('r1', { amountUsdMicros: 9 })),
              await repo.insertIfAbsent(reservation('r2')),
            ];
            await tx.outbox.enqueue('tasks.requested', taskRequested('t1', 1));
            expect(await tx.inbox.claim('consumer', 'e1')).toBe(true);
            return outcomes.map((o) => o?.id);
          });
          expect(fresh).toEqual([undefined, 'r2']);
          const repo = store.repository(reservations);
          expect((await repo.get('r1'))?.doc.amountUsdMicros).toBe(1);
          expect(await repo.get('r2')).toBeDefined();
          expect(await store.outbox.pending(10)).toHaveLength(1);
        },
      );

      itWithAtomicUpdates(
        'updates with optimistic concurrency: of two writers from one version, one wins',
        async () => {
          const repo = store.repository(reservations);
          await repo.insert(reservation('r1'));
          const results = await Promise.allSettled([
            repo.update(reservation('r1', { status: 'settled' }), 1),
            repo.update(reservation('r1', { status: 'expired' }), 1),
          ]);
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r) => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost).toHaveLength(1);
          const reason = (lost[0] as PromiseRejectedResult).reason;
          expect(reason).toBeInstanceOf(ConcurrencyError);
          expect(reason).toMatchObject({ id: 'r1', expectedVersion: 1, actualVersion: 2 });
          const current = await repo.get('r1');
          expect(current?.version).toBe(2);
          expect(current).toEqual((won[0] as PromiseFulfilledResult<unknown>).value);

          await expect(repo.update(reservation('r1'), 1)).rejects.toBeInstanceOf(ConcurrencyError);
          await expect(repo.update(reservation('nobody'), 1)).rejects.toBeInstanceOf(NotFoundError);
        },
      );

      it('upserts whatever the current version', async () => {
        const repo = store.repository(reservations);
        expect((await repo.upsert(reservation('r1'))).version).toBe(1);
        const second = await repo.upsert(reservation('r1', { status: 'settled' }));
        expect(second.version).toBe(2);
        expect(await repo.get('r1')).toEqual(second);
      });

      it('deletes, with an optional version check', async () => {
        const repo = store.repository(reservations);
        await repo.insert(reservation('r1'));
        await repo.update(reservation('r1', { status: 'settled' }), 1);
        await expect(repo.delete('r1', 1)).rejects.toBeInstanceOf(ConcurrencyError);
        expect(await repo.get('r1')).toBeDefined();
        expect(await repo.delete('r1', 2)).toBe(true);
        expect(await repo.get('r1')).toBeUndefined();
        expect(await repo.delete('r1')).toBe(false);
        expect(await repo.delete('r1', 3)).toBe(false);
        await repo.insert(reservation('r1'));
        expect(await repo.delete('r1')).toBe(true);
      });
    });

    describe('find', () => {
      const at = (hour: number) => `2030-01-01T${String(hour).padStart(2, '0')}:00:00.000Z`;
      beforeEach(async () => {
        const repo = store.repository(reservations);
        await repo.insert(reservation('r1', { deadlineAt: at(10), amountUsdMicros: 100 }));
        await repo.insert(reservation('r2', { deadlineAt: at(9), amountUsdMicros: 200 }));
        await repo.insert(reservation('r3', { deadlineAt: at(8), status: 'settled' }));
        await repo.insert(
          reservation('r4', {
            deadlineAt: at(11),
            urgent: true,
            reviewer: 'ann',
            amountUsdMicros: 300,
          }),
        );
        await repo.insert(reservation('r5', { tenantId: 'tenant-b', deadlineAt: at(7) }));
        await repo.insert(reservation('r6', { tenantId: 'tenant-b', deadlineAt: at(12) }));
      });
      const ids = (docs: readonly { id: string }[]) => docs.map((d) => d.id);

      it('filters by equality and a range, ordered and limited', async () => {
        const repo = store.repository(reservations);
        const overdue = await repo.find({
          where: { tenantId: 'tenant-a', status: 'open' },
          range: { field: 'deadlineAt', lt: '2030-01-01T10:30:00.000Z' },
          orderBy: 'deadlineAt',
        });
        expect(ids(overdue)).toEqual(['r2', 'r1']);
        expect(overdue[0]).toMatchObject({ version: 1, doc: { reservationId: 'r2' } });

        const latest = await repo.find({
          where: { tenantId: 'tenant-a', status: 'open' },
          orderBy: 'deadlineAt',
          order: 'desc',
          limit: 2,
        });
        expect(ids(latest)).toEqual(['r4', 'r1']);
      });

      it('handles inclusive and exclusive bounds', async () => {
        const repo = store.repository(reservations);
        const between = (range: object) =>
          repo
            .find({ range: { field: 'amountUsdMicros', ...range }, orderBy: 'amountUsdMicros' })
            .then(ids);
        expect(await between({ gte: 100, lte: 300 })).toEqual(['r1', 'r2', 'r4']);
        expect(await between({ gt: 100, lt: 300 })).toEqual(['r2']);
        expect(await between({ gt: 1_000 })).toEqual([]);
        expect(await between({ lte: 100 })).toEqual(['r1']);
      });

      it('matches any of several values, booleans and null (absent)', async () => {
        const repo = store.repository(reservations);
        expect(ids(await repo.find({ where: { status: ['settled', 'expired'] } }))).toEqual(['r3']);
        expect(ids(await repo.find({ where: { status: [] } }))).toEqual([]);
        expect(ids(await repo.find({ where: { urgent: true } }))).toEqual(['r4']);
        expect(ids(await repo.find({ where: { urgent: false, tenantId: 'tenant-b' } }))).toEqual([
          'r5',
          'r6',
        ]);
        expect(ids(await repo.find({ where: { reviewer: null } }))).toEqual([
          'r1',
          'r2',
          'r3',
          'r5',
          'r6',
        ]);
        expect(ids(await repo.find({ where: { reviewer: 'ann' } }))).toEqual(['r4']);
      });

      it('orders by id without orderBy, and by id within ties', async () => {
        const repo = store.repository(reservations);
        expect(ids(await repo.find())).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
        expect(ids(await repo.find({ order: 'desc', limit: 2 }))).toEqual(['r6', 'r5']);
        expect(ids(await repo.find({ orderBy: 'amountUsdMicros' }))).toEqual([
          'r1',
          'r2',
          'r4',
          'r3',
          'r5',
          'r6',
        ]);
      });

      it('counts', async () => {
        const repo = store.repository(reservations);
        expect(await repo.count()).toBe(6);
        expect(await repo.count({ where: { tenantId: 'tenant-a' } })).toBe(4);
        expect(
          await repo.count({
            where: { tenantId: 'tenant-a' },
            range: { field: 'deadlineAt', gte: at(10) },
          }),
        ).toBe(2);
      });

      it('refuses queries on fields that are not indexed', async () => {
        const repo = store.repository(reservations);
        await expect(repo.find({ where: { notes: 'x' } as never })).rejects.toBeInstanceOf(
          QueryError,
        );
        await expect(repo.find({ orderBy: 'notes' as never })).rejects.toBeInstanceOf(QueryError);
        await expect(repo.find({ limit: 0 })).rejects.toBeInstanceOf(QueryError);
      });
    });

    describe('transactions', () => {
      itWithTransactions('commits every write together and returns the result', async () => {
        const result = await store.transaction(async (tx) => {
          const repo = tx.repository(reservations);
          await repo.insert(reservation('r1'));
          await repo.insert(reservation('r2'));
          expect((await repo.get('r1'))?.version).toBe(1); // a transaction reads its own writes
          return 'done';
        });
        expect(result).toBe('done');
        const repo = store.repository(reservations);
        expect(await repo.count()).toBe(2);
      });

      itWithTransactions('rolls back every write when the work throws, and rethrows', async () => {
        const repo = store.repository(reservations);
        await repo.insert(reservation('r0'));
        const failure = new Error('after two writes');
        await expect(
          store.transaction(async (tx) => {
            const txRepo = tx.repository(reservations);
            await txRepo.insert(reservation('r1'));
            await txRepo.update(reservation('r0', { status: 'settled' }), 1);
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await repo.get('r1')).toBeUndefined();
        expect(await repo.get('r0')).toMatchObject({ version: 1, doc: { status: 'open' } });
      });

      itWithTransactions(
        'never loses an update of concurrent read-modify-write transactions on one document',
        async () => {
          const repo = store.repository(counters);
          await repo.insert({ counterId: 'c', value: 0 });
          const n = 40;
          await Promise.all(
            Array.from({ length: n }, () =>
              store.transaction(async (tx) => {
                const txRepo = tx.repository(counters);
                const current = await txRepo.get('c');
                await yieldTurn(); // give the others every chance to interleave
                if (!current) throw new Error('counter vanished');
                await txRepo.update(
                  { counterId: 'c', value: current.doc.value + 1 },
                  current.version,
                );
              }),
            ),
          );
          expect(await repo.get('c')).toMatchObject({ version: n + 1, doc: { value: n } });
        },
      );

      itWithTransactions(
        'prevents write skew when each transaction writes the document its decision rests on',
        async () => {
          // Two on-call flags and the rule "someone stays on call". Each transaction reads both
          // flags and turns its own off if the other is on: under snapshot isolation both could
          // commit (write skew). Writing the shared guard document as well makes them conflict.
          const repo = store.repository(counters);
          await repo.insert({ counterId: 'on-call-a', value: 1 });
          await repo.insert({ counterId: 'on-call-b', value: 1 });
          await repo.insert({ counterId: 'on-call-guard', value: 0 });
          const goOff = (mine: string, other: string) =>
            transactionRetryingConflicts(store, async (tx) => {
              const flags = tx.repository(counters);
              const guard = (await flags.get('on-call-guard'))!;
              const otherOn = (await flags.get(other))!.doc.value === 1;
              const own = (await flags.get(mine))!;
              await yieldTurn(); // let the other transaction read the same snapshot
              if (!otherOn) return false;
              await flags.update({ counterId: mine, value: 0 }, own.version);
              await flags.update(
                { counterId: 'on-call-guard', value: guard.doc.value + 1 },
                guard.version,
              );
              return true;
            });
          const [a, b] = await Promise.all([
            goOff('on-call-a', 'on-call-b'),
            goOff('on-call-b', 'on-call-a'),
          ]);
          expect([a, b].filter(Boolean)).toHaveLength(1);
          const values = [
            (await repo.get('on-call-a'))!.doc.value,
            (await repo.get('on-call-b'))!.doc.value,
          ];
          expect(values.sort()).toEqual([0, 1]);
        },
      );

      itWithTransactions(
        'never shows uncommitted writes outside, nor folds outside writes into a transaction',
        async () => {
          const repo = store.repository(reservations);
          const entered = deferred();
          const proceed = deferred();
          const tx = store.transaction(async (t) => {
            await t.repository(reservations).insert(reservation('inside'));
            entered.resolve();
            await proceed.promise;
            throw new Error('abort');
          });
          await entered.promise;
          const outsideWrite = repo.insert(reservation('outside'));
          const outsideRead = repo.get('inside');
          proceed.resolve();
          await expect(tx).rejects.toThrow('abort');
          await outsideWrite;
          expect(await outsideRead).toBeUndefined();
          expect(await repo.get('inside')).toBeUndefined();
          expect(await repo.get('outside')).toBeDefined();
        },
      );

      itWithTransactions(
        'refuses nested transactions, direct store calls inside one, and use after it ends',
        async () => {
          await expect(
            store.transaction(async () => store.transaction(async () => 1)),
          ).rejects.toBeInstanceOf(StoreError);
          await expect(
            store.transaction(async () => store.repository(reservations).get('r1')),
          ).rejects.toBeInstanceOf(StoreError);
          let leaked: Transaction | undefined;
          await store.transaction(async (tx) => {
            leaked = tx;
          });
          await expect(leaked?.repository(reservations).get('r1')).rejects.toBeInstanceOf(
            StoreError,
          );
          await expect(leaked?.inbox.claim('c', 'e')).rejects.toBeInstanceOf(StoreError);
          // The store still works afterwards.
          await store.repository(reservations).insert(reservation('r1'));
        },
      );
    });

    describe('inbox', () => {
      itWithTransactions('claims an event once per consumer', async () => {
        expect(await store.transaction((tx) => tx.inbox.claim('budget', 'e1'))).toBe(true);
        expect(await store.transaction((tx) => tx.inbox.claim('budget', 'e1'))).toBe(false);
        expect(await store.transaction((tx) => tx.inbox.claim('policy', 'e1'))).toBe(true);
        expect(await store.transaction((tx) => tx.inbox.claim('budget', 'e2'))).toBe(true);
      });

      itWithTransactions(
        'releases a claim whose transaction rolled back, with its state change',
        async () => {
          await expect(
            store.transaction(async (tx) => {
              expect(await tx.inbox.claim('budget', 'e1')).toBe(true);
              await tx.repository(reservations).insert(reservation('r1'));
              throw new Error('handler failed');
            }),
          ).rejects.toThrow('handler failed');
          expect(await store.repository(reservations).get('r1')).toBeUndefined();
          const second = await store.transaction(async (tx) => {
            if (!(await tx.inbox.claim('budget', 'e1'))) return 'skipped';
            await tx.repository(reservations).insert(reservation('r1'));
            return 'processed';
          });
          expect(second).toBe('processed');
          expect(await store.transaction((tx) => tx.inbox.claim('budget', 'e1'))).toBe(false);
        },
      );
    });

    describe('outbox', () => {
      itWithTransactions(
        'stores events only when their transaction commits, in order per key, intact',
        async () => {
          await expect(
            store.transaction(async (tx) => {
              await tx.repository(reservations).insert(reservation('r1'));
              await tx.outbox.enqueue('tasks.requested', taskRequested('t1', 0));
              throw new Error('rolled back');
            }),
          ).rejects.toThrow('rolled back');
          expect(await store.outbox.pending(10)).toEqual([]);

          const events = [taskRequested('t1', 1), taskRequested('t2', 2), taskRequested('t1', 3)];
          await store.transaction(async (tx) => {
            await tx.repository(reservations).insert(reservation('r1'));
            await tx.outbox.enqueue('tasks.requested', events[0], {
              headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
            });
            await tx.outbox.enqueue('tasks.requested', events[1]);
          });
          await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', events[2]));
          const pending = await store.outbox.pending(10);
          // Ordered per partition key; across keys, in no promised order.
          const envelopesOf = (key: string) =>
            pending.filter((p) => p.key === key).map((p) => p.envelope);
          expect(envelopesOf('t1')).toEqual([events[0], events[2]]);
          expect(envelopesOf('t2')).toEqual([events[1]]);
          expect(pending).toHaveLength(3);
          const first = pending.find((p) => p.envelope.id === events[0]!.id)!;
          const second = pending.find((p) => p.envelope.id === events[1]!.id)!;
          expect(first).toMatchObject({
            topic: 'tasks.requested',
            attempts: 0,
            headers: { traceparent: expect.stringMatching(/^00-/) },
          });
          expect(second.headers).toEqual({});
          // A limit never lets a key's later entry come without its earlier one.
          const two = await store.outbox.pending(2);
          expect(two).toHaveLength(2);
          const ids = two.map((p) => p.envelope.id);
          if (ids.includes(events[2]!.id)) expect(ids).toContain(events[0]!.id);
        },
      );

      itWithTransactions(
        'refuses an event that could not be published, failing its transaction',
        async () => {
          const wrongTopic = store.transaction(async (tx) => {
            await tx.repository(reservations).insert(reservation('r1'));
            await tx.outbox.enqueue('tasks.finished' as 'tasks.requested', taskRequested('t1', 1));
          });
          await expect(wrongTopic).rejects.toBeInstanceOf(EventValidationError);
          const noKey = { ...taskRequested('t1', 2), taskId: undefined };
          await expect(
            store.transaction((tx) => tx.outbox.enqueue('tasks.requested', noKey)),
          ).rejects.toBeInstanceOf(EventValidationError);
          expect(await store.repository(reservations).get('r1')).toBeUndefined();
          expect(await store.outbox.pending(10)).toEqual([]);
        },
      );

      itWithTransactions('relays committed events in order, woken by the commit', async () => {
        const { bus, published } = fakeBus();
        relay({ bus }).start(); // polls once a minute: only the wake-up can deliver in time
        const events = Array.from({ length: 12 }, (_, n) => taskRequested(`t${n % 3}`, n));
        for (const event of events.slice(0, 6)) {
          await store.transaction((tx) => tx.outbox.enqueue('tasks.requested', event));
        }
        await store.transaction(async (tx) => {
          for (const event of events.slice(6)) await tx.outbox.enqueue('tasks.requested', event);
        });
        await waitFor(() => published.length === events.length, {
          description: 'all events published',
        });
        for (const key of ['t0', 't1', 't2']) {
          expect(idsOfKey(published, key)).toEqual(
            events.filter((e) => e.taskId === key).map((e) => e.id),
          );
        }
        await waitFor(async () => (await store.outbox.pending(10)).length === 0, {
          description: 'entries marked sent',
        });
      });

      itWithTransactions(
        'retries after a failing publish without losing or reordering a key',
        async () => {
          // t1's second event fails twice; t2 is unaffected.
          const { bus, published, attempts } = fakeBus(
            (id, attempt) => id === 't1-event-1' && attempt <= 2,
          );
          const errors: unknown[] = [];
          const events = [0, 1, 2, 3].flatMap((n) => [
            taskRequested('t1', n),
            taskRequested('t2', n),
          ]);
          await store.transaction(async (tx) => {
            for (const event of events) await tx.outbox.enqueue('tasks.requested', event);
          });
          relay({ bus, onError: (e) => errors.push(e) }).start();
          await waitFor(() => published.length === events.length, {
            description: 'all events published after retries',
          });
          expect(idsOfKey(published, 't1')).toEqual([0, 1, 2, 3].map((n) => `t1-event-${n}`));
          expect(idsOfKey(published, 't2')).toEqual([0, 1, 2, 3].map((n) => `t2-event-${n}`));
          expect(attempts.get('t1-event-1')).toBe(3);
          expect(attempts.get('t1-event-2')).toBe(1); // never tried ahead of the one before it
          expect(errors.length).toBeGreaterThanOrEqual(2);
          await waitFor(async () => (await store.outbox.pending(10)).length === 0, {
            description: 'entries marked sent',
          });
        },
      );

      itWithTransactions(
        'keeps a failed entry pending with its attempts until the bus is back',
        async () => {
          let down = true;
          const { bus, published } = fakeBus(() => down);
          await store.transaction((tx) =>
            tx.outbox.enqueue('tasks.requested', taskRequested('t1', 0)),
          );
          const r = relay({ bus });
          expect(await r.drain()).toMatchObject({ published: 0, failed: 1 });
          const [entry] = await store.outbox.pending(10);
          expect(entry).toMatchObject({
            attempts: 1,
            lastError: expect.stringMatching(/unavailable/),
          });
          down = false;
          expect(await r.drain()).toMatchObject({ published: 1, failed: 0 });
          expect(published.map((p) => p.id)).toEqual(['t1-event-0']);
          expect(await store.outbox.pending(10)).toEqual([]);
        },
      );

      itWithTransactions(
        'stops gracefully: the publish in flight completes and is marked sent',
        async () => {
          const gate = deferred();
          const called = deferred();
          const published: string[] = [];
          const bus: OutboxPublisher = {
            async publish(topic, envelope) {
              called.resolve();
              await gate.promise;
              published.push(envelope.id);
              return { topic, partition: 0, offset: '0' };
            },
          };
          const r = relay({ bus });
          r.start();
          await store.transaction((tx) =>
            tx.outbox.enqueue('tasks.requested', taskRequested('t1', 0)),
          );
          await called.promise;
          let stopped = false;
          const stopping = r.stop().then(() => (stopped = true));
          await yieldTurn();
          expect(stopped).toBe(false);
          gate.resolve();
          await stopping;
          expect(published).toEqual(['t1-event-0']);
          expect(await store.outbox.pending(10)).toEqual([]);
          await store.transaction((tx) =>
            tx.outbox.enqueue('tasks.requested', taskRequested('t1', 1)),
          );
          expect(r.isRunning).toBe(false);
          expect(await store.outbox.pending(10)).toHaveLength(1);
        },
      );

      itWithTransactions(
        'lets one relay publish at a time, and another take over when it stops',
        async () => {
          const { bus, published } = fakeBus();
          const enqueue = (from: number, to: number) =>
            store.transaction(async (tx) => {
              for (let n = from; n < to; n++) {
                await tx.outbox.enqueue('tasks.requested', taskRequested('t1', n));
              }
            });
          const first = relay({ bus, owner: 'relay-1' });
          first.start();
          await enqueue(0, 5);
          await waitFor(() => published.length === 5, { description: 'relay-1 publishing' });
          relay({ bus, owner: 'relay-2', pollIntervalMs: 10 }).start();
          await enqueue(5, 10);
          await waitFor(() => published.length >= 10, { description: 'relay-1 still publishing' });
          await first.stop();
          await enqueue(10, 15);
          await waitFor(() => published.length >= 15, { description: 'relay-2 taking over' });
          // Exactly once each, in order: relay-2 stayed idle while relay-1 held the lease.
          expect(published.map((p) => p.id)).toEqual(
            Array.from({ length: 15 }, (_, n) => `t1-event-${n}`),
          );
        },
      );
    });

    describe('lifecycle', () => {
      itWithTransactions(
        'keeps documents, claims and pending events across close and reopen',
        async () => {
          const repo = store.repository(reservations);
          await repo.insert(reservation('r1'));
          await repo.update(reservation('r1', { status: 'settled' }), 1);
          await store.transaction(async (tx) => {
            await tx.inbox.claim('budget', 'e1');
            await tx.outbox.enqueue('tasks.requested', taskRequested('t1', 0));
          });
          await store.close();

          const again = await open(opened.location);
          extra.push(again);
          const reopened = again.store.repository(reservations);
          expect(await reopened.get('r1')).toMatchObject({
            version: 2,
            doc: { status: 'settled' },
          });
          expect(await reopened.find({ where: { status: 'settled' } })).toHaveLength(1);
          expect(await again.store.transaction((tx) => tx.inbox.claim('budget', 'e1'))).toBe(false);
          const pending = await again.store.outbox.pending(10);
          expect(pending.map((p) => p.envelope)).toEqual([taskRequested('t1', 0)]);
        },
      );

      itWithTransactions(
        'answers ping while open, refuses work once closed, and closes idempotently',
        async () => {
          await expect(store.ping()).resolves.toBeUndefined();
          await store.close();
          await store.close();
          await expect(store.ping()).rejects.toBeInstanceOf(StoreError);
          await expect(store.repository(reservations).get('r1')).rejects.toBeInstanceOf(StoreError);
          await expect(store.transaction(async () => 1)).rejects.toBeInstanceOf(StoreError);
        },
      );
    });
  });
}
