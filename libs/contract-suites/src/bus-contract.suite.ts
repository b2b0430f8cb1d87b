import { randomBytes, randomUUID } from 'node:crypto';
import { TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  createBus,
  TransientError,
  type Bus,
  type BusTransport,
  type DeadLetter,
  type Delivery,
  type PublishReceipt,
  type RetryPolicy,
  type Subscription,
} from '@leash/bus';
import { createEnvelope, encodeEnvelope, type Envelope } from '@leash/contracts';
import { waitFor } from '@leash/testing';

/**
 * What an adapter provides to run the bus contract. Each test calls the
 * factory once, `open()`s a fresh engine, and `cleanup()`s at the end.
 */
export interface BusContractHarness {
  /** A transport on a fresh, empty engine (unique file/namespace). */
  open(): Promise<BusTransport>;
  /** Another transport on the same engine as the last `open()`, as a second process would have. */
  openPeer(): Promise<BusTransport>;
  /** Abandons a transport as a crash would: no drain, no commit. Its partitions become available to peers. */
  crash(transport: BusTransport): Promise<void>;
  /** Closes everything opened and removes files. */
  cleanup(): Promise<void>;
}

type TaskEvent = Envelope<'leash.tasks.requested.v1'>;

const TOPIC = 'tasks.requested';
const SOURCE = 'bus-contract';
// Small delays keep the suite fast; the shape of the backoff is what is under test.
const FAST_RETRY: Partial<RetryPolicy> = { initialDelayMs: 1, maxDelayMs: 4, multiplier: 2 };
const TEST_TIMEOUT_MS = 30_000;

function taskEvent(taskId: string, seq: number): TaskEvent {
  return createEnvelope(
    'leash.tasks.requested.v1',
    { agent: 'contract', input: `${taskId} #${seq}`, metadata: { seq: String(seq) } },
    { source: SOURCE, tenantId: 'tenant-contract', taskId },
  );
}

function seqOf(delivery: Delivery): number {
  if (delivery.event.type !== 'leash.tasks.requested.v1') {
    throw new Error(`unexpected ${delivery.event.type}`);
  }
  return Number(delivery.event.data.metadata.seq);
}

interface Gate {
  readonly promise: Promise<void>;
  release(): void;
}

/**
 * The behaviour every bus adapter must show, driven through `createBus` so it
 * checks the whole stack a service sees: ordering, concurrency, consumer
 * groups, at-least-once delivery, retries, dead letters, graceful close and
 * trace propagation.
 */
export function describeBusContract(
  adapterName: string,
  makeHarness: () => BusContractHarness,
): void {
  describe(`bus contract: ${adapterName}`, () => {
    let harness: BusContractHarness;
    let gates: Gate[] = [];
    // Topics of their own per test: a shared broker keeps earlier tests' records and offsets.
    let topicPrefix = '';

    const gate = (): Gate => {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => (release = resolve));
      const opened = { promise, release };
      gates.push(opened);
      return opened;
    };
    const group = (purpose: string): string => `contract-${purpose}-${randomUUID().slice(0, 8)}`;
    const busOn = (transport: BusTransport, retry: Partial<RetryPolicy> = FAST_RETRY): Bus =>
      createBus({ transport, source: SOURCE, retry, topicPrefix });
    const deadLetters = async (bus: Bus): Promise<DeadLetter[]> => {
      const letters: DeadLetter[] = [];
      await bus.subscribeDeadLetters(group('dlq'), [TOPIC], async (letter) => {
        letters.push(letter);
      });
      return letters;
    };

    beforeEach(() => {
      harness = makeHarness();
      topicPrefix = `contract-${randomUUID().slice(0, 8)}.`;
    });

    afterEach(async () => {
      // Handlers still parked on a gate would keep a graceful close waiting forever.
      for (const opened of gates) opened.release();
      gates = [];
      await harness.cleanup();
    });

    it(
      'keeps order per key across many interleaved keys',
      async () => {
        const bus = busOn(await harness.open());
        const keys = Array.from({ length: 16 }, (_, i) => `order-${i}-${randomUUID()}`);
        const perKey = 20;
        const seen = new Map<string, number[]>();
        let total = 0;
        await bus.subscribe(group('order'), [TOPIC], async (delivery) => {
          const seq = seqOf(delivery);
          // Yield now and then so partitions really interleave inside the consumer.
          if (seq % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
          const list = seen.get(delivery.key) ?? [];
          list.push(seq);
          seen.set(delivery.key, list);
          total++;
        });

        for (let seq = 0; seq < perKey; seq++) {
          // One event per key at a time, all keys at once: keys interleave, each key stays ordered.
          await Promise.all(keys.map((key) => bus.publish(TOPIC, taskEvent(key, seq))));
        }

        await waitFor(() => total >= keys.length * perKey, { description: 'every event handled' });
        const expected = Array.from({ length: perKey }, (_, i) => i);
        for (const key of keys) expect(seen.get(key)).toEqual(expected);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'resolves subscribe only once positioned: a consumer from the latest offset sees what is published next',
      async () => {
        const bus = busOn(await harness.open());
        // Records before the subscription: a consumer from the latest offset must not see them.
        const before = taskEvent(`latest-${randomUUID()}`, 0);
        await bus.publish(TOPIC, before);
        const seen: string[] = [];
        await bus.subscribe(group('latest'), [TOPIC], async (d) => void seen.push(d.event.id), {
          fromBeginning: false,
        });
        // No waiting here: the kill switch and its acknowledgements rely on exactly this.
        const after = Array.from({ length: 8 }, (_, i) =>
          taskEvent(`latest-${i}-${randomUUID()}`, i),
        );
        for (const event of after) await bus.publish(TOPIC, event);
        await waitFor(() => seen.length >= after.length, {
          description: 'every event published after subscribe() resolved',
        });
        expect(new Set(seen)).toEqual(new Set(after.map((e) => e.id)));
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "tells each partition's range: a reader from the beginning is delivered up to its high offset",
      async () => {
        const bus = busOn(await harness.open());
        const events = Array.from({ length: 12 }, (_, i) =>
          taskEvent(`range-${i}-${randomUUID()}`, i),
        );
        for (const event of events) await bus.publish(TOPIC, event);
        const ranges = await bus.ranges(TOPIC);
        expect(ranges).toBeDefined();
        const high = new Map(ranges!.map((r) => [r.partition, BigInt(r.high)]));
        const stored = ranges!.reduce((sum, r) => sum + Number(BigInt(r.high) - BigInt(r.low)), 0);
        expect(stored).toBe(events.length);

        // Everything published before the ranges were read is below each partition's high.
        const below: string[] = [];
        await bus.subscribe(group('ranges'), [TOPIC], async (d) => {
          if (BigInt(d.offset) < high.get(d.partition)!) below.push(d.event.id);
        });
        await waitFor(() => below.length >= events.length, {
          description: "every event below its partition's high offset",
        });
        expect(new Set(below)).toEqual(new Set(events.map((e) => e.id)));
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "counts a group's live members: one per subscription, none once they are closed",
      async () => {
        const bus = busOn(await harness.open());
        const name = group('members');
        expect(await bus.liveMembers(name)).toBe(0);
        const first = await bus.subscribe(name, [TOPIC], async () => undefined);
        const second = await bus.subscribe(name, [TOPIC], async () => undefined);
        await waitFor(async () => (await bus.liveMembers(name)) === 2, {
          description: 'both subscriptions counted as live members',
        });
        await first.close();
        await second.close();
        await waitFor(async () => (await bus.liveMembers(name)) === 0, {
          description: 'no live member once both are closed',
        });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'processes partitions concurrently: a blocked key does not hold up another partition',
      async () => {
        const bus = busOn(await harness.open());
        const blocker = gate();
        const blockedKey = `blocked-${randomUUID()}`;
        let blockedPartition: number | undefined;
        const others: Delivery[] = [];
        await bus.subscribe(group('concurrency'), [TOPIC], async (delivery) => {
          if (delivery.key === blockedKey) {
            blockedPartition = delivery.partition;
            await blocker.promise;
            return;
          }
          others.push(delivery);
        });

        await bus.publish(TOPIC, taskEvent(blockedKey, 0));
        await waitFor(() => blockedPartition !== undefined, {
          description: 'the blocking handler to start',
        });

        const receipts: PublishReceipt[] = await Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            bus.publish(TOPIC, taskEvent(`free-${i}-${randomUUID()}`, 0)),
          ),
        );
        const elsewhere = receipts.filter((r) => r.partition !== blockedPartition).length;
        expect(elsewhere).toBeGreaterThan(0);

        await waitFor(
          () => others.filter((d) => d.partition !== blockedPartition).length === elsewhere,
          { description: 'events on other partitions handled while one partition is blocked' },
        );
        // Behind the blocked record, its own partition waits: order per partition holds.
        expect(others.filter((d) => d.partition === blockedPartition)).toHaveLength(0);

        blocker.release();
        await waitFor(() => others.length === receipts.length, {
          description: 'the blocked partition to resume',
        });
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'delivers every event to every consumer group',
      async () => {
        const bus = busOn(await harness.open());
        const peer = busOn(await harness.openPeer());
        const groups = [group('fan-a'), group('fan-b'), group('fan-c')];
        const seen = groups.map(() => new Set<string>());
        await bus.subscribe(groups[0], [TOPIC], async (d) => void seen[0].add(d.event.id));
        await bus.subscribe(groups[1], [TOPIC], async (d) => void seen[1].add(d.event.id));
        // A group whose member lives in another process sees the same events.
        await peer.subscribe(groups[2], [TOPIC], async (d) => void seen[2].add(d.event.id));

        const events = Array.from({ length: 40 }, (_, i) => taskEvent(`fan-${i % 10}`, i));
        for (const event of events) await bus.publish(TOPIC, event);

        const ids = new Set(events.map((e) => e.id));
        await waitFor(() => seen.every((s) => s.size >= ids.size), {
          description: 'every group to see every event',
        });
        for (const s of seen) expect(s).toEqual(ids);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'shares the work between members of one group',
      async () => {
        const busA = busOn(await harness.open());
        const busB = busOn(await harness.openPeer());
        const g = group('share');
        const seenA: string[] = [];
        const seenB: string[] = [];
        const probes = { a: 0, b: 0 };
        await busA.subscribe(g, [TOPIC], async (d) => {
          if (d.key.startsWith('probe-')) probes.a++;
          else seenA.push(d.event.id);
        });
        await busB.subscribe(g, [TOPIC], async (d) => {
          if (d.key.startsWith('probe-')) probes.b++;
          else seenB.push(d.event.id);
        });

        // Settle the group first: once both members handle probes, both hold partitions.
        let probe = 0;
        await waitFor(
          async () => {
            await busA.publish(TOPIC, taskEvent(`probe-${probe++}`, 0));
            return probes.a > 0 && probes.b > 0;
          },
          { description: 'both members to own partitions', intervalMs: 20 },
        );

        const events = Array.from({ length: 192 }, (_, i) => taskEvent(`share-${i % 64}`, i));
        await Promise.all(events.map((event) => busA.publish(TOPIC, event)));

        const ids = new Set(events.map((e) => e.id));
        await waitFor(() => new Set([...seenA, ...seenB]).size === ids.size, {
          description: 'the group to handle every event',
        });
        expect(seenA.length).toBeGreaterThan(0);
        expect(seenB.length).toBeGreaterThan(0);
        expect(new Set([...seenA, ...seenB])).toEqual(ids);
        // Outside a rebalance no event is handled twice, within a member or across them.
        expect(seenA.length + seenB.length).toBe(ids.size);
        expect(seenA.filter((id) => seenB.includes(id))).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'commits only after success: a crash mid-handler redelivers that event to a peer',
      async () => {
        const transport = await harness.open();
        const bus = busOn(transport);
        const g = group('crash');
        const key = `crash-${randomUUID()}`;
        const [first, second, third] = [0, 1, 2].map((seq) => taskEvent(key, seq));
        const stuck = gate();
        const handled: string[] = [];
        let inFlight: string | undefined;
        await bus.subscribe(g, [TOPIC], async (d) => {
          if (d.event.id === second.id) {
            inFlight = d.event.id;
            await stuck.promise;
          }
          handled.push(d.event.id);
        });
        for (const event of [first, second, third]) await bus.publish(TOPIC, event);
        await waitFor(() => handled.includes(first.id) && inFlight === second.id, {
          description: 'the first event handled and the second in flight',
        });

        await harness.crash(transport);

        const peer = busOn(await harness.openPeer());
        const seen: string[] = [];
        await peer.subscribe(g, [TOPIC], async (d) => void seen.push(d.event.id));
        await waitFor(() => seen.includes(third.id), { description: 'the peer to catch up' });
        // The second was never committed, so it comes again, in order, and the third after it. The
        // first may come once more too: a transport may commit asynchronously after success, and
        // a crash can beat that commit; at least once allows one redelivery, never a skip.
        expect([
          [second.id, third.id],
          [first.id, second.id, third.id],
        ]).toContainEqual(seen);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'retries a transient error with backoff and succeeds within the bound',
      async () => {
        const bus = busOn(await harness.open());
        const attempts: number[] = [];
        const handled: string[] = [];
        await bus.subscribe(
          group('transient-ok'),
          [TOPIC],
          async (d) => {
            attempts.push(d.attempt);
            if (d.attempt < 3) throw new TransientError('downstream busy');
            handled.push(d.event.id);
          },
          { retry: { maxAttempts: 5 } },
        );
        const event = taskEvent(`transient-ok-${randomUUID()}`, 0);
        await bus.publish(TOPIC, event);
        await waitFor(() => handled.length === 1, { description: 'success on the third attempt' });
        expect(attempts).toEqual([1, 2, 3]);
        expect(handled).toEqual([event.id]);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'dead-letters a transient error once the attempts run out, with the attempt count',
      async () => {
        const transport = await harness.open();
        // random = 1 pins each wait to its ceiling, so the backoff is measurable: 5, 10, then 12 ms.
        const bus = createBus({
          transport,
          source: SOURCE,
          topicPrefix,
          retry: { initialDelayMs: 5, multiplier: 2, maxDelayMs: 12, maxAttempts: 4 },
          random: () => 1,
        });
        const letters = await deadLetters(bus);
        const g = group('transient-dlq');
        const calls: { attempt: number; at: number }[] = [];
        await bus.subscribe(g, [TOPIC], async (d) => {
          calls.push({ attempt: d.attempt, at: performance.now() });
          throw new TransientError('downstream still busy');
        });
        const event = taskEvent(`transient-dlq-${randomUUID()}`, 0);
        await bus.publish(TOPIC, event);

        await waitFor(() => letters.length > 0, {
          description: 'a dead letter after the last attempt',
        });
        const [letter] = letters;
        expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
        const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at);
        // Timers may round down by a millisecond; never by more.
        [5, 10, 12].forEach((ceiling, i) => expect(gaps[i]).toBeGreaterThanOrEqual(ceiling - 1));
        expect(letter.attempts).toBe(4);
        expect(letter.error).toContain('downstream still busy');
        expect(letter.group).toBe(g);
        expect(letter.headers['ce_id']).toBe(event.id);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'dead-letters a permanent error at once, with error, attempts and original headers, and keeps the partition flowing',
      async () => {
        const bus = busOn(await harness.open());
        const letters = await deadLetters(bus);
        const g = group('permanent');
        const key = `permanent-${randomUUID()}`;
        const [poison, next, last] = [0, 1, 2].map((seq) => taskEvent(key, seq));
        let poisonCalls = 0;
        const handled: string[] = [];
        await bus.subscribe(g, [TOPIC], async (d) => {
          if (d.event.id === poison.id) {
            poisonCalls++;
            throw new Error('refused: not a valid request');
          }
          handled.push(d.event.id);
        });

        const receipt = await bus.publish(TOPIC, poison, { headers: { 'x-contract': 'kept' } });
        await bus.publish(TOPIC, next);
        await bus.publish(TOPIC, last);

        await waitFor(() => handled.length === 2 && letters.length === 1, {
          description: 'later events handled and the poison dead-lettered',
        });
        expect(handled).toEqual([next.id, last.id]);
        expect(poisonCalls).toBe(1);
        const [letter] = letters;
        expect(letter.error).toBe('refused: not a valid request');
        expect(letter.attempts).toBe(1);
        expect(letter.group).toBe(g);
        expect(letter.originalTopic).toBe(bus.topicName(TOPIC));
        expect(letter.topic).toBe(`${bus.topicName(TOPIC)}.dlq`);
        expect(letter.originalPartition).toBe(receipt.partition);
        expect(letter.originalOffset).toBe(receipt.offset);
        expect(Number.isNaN(Date.parse(letter.failedAt))).toBe(false);
        expect(letter.key).toBe(key);
        expect(letter.headers['x-contract']).toBe('kept');
        expect(letter.headers['ce_id']).toBe(poison.id);
        expect(letter.headers['ce_type']).toBe('leash.tasks.requested.v1');
        expect(Object.keys(letter.headers).filter((h) => h.startsWith('leash-dlq-'))).toEqual([]);
        expect(JSON.parse(letter.value.toString('utf8'))).toEqual(poison.data);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'dead-letters invalid events with the validation error; the handler never sees them',
      async () => {
        const bus = busOn(await harness.open());
        const letters = await deadLetters(bus);
        const key = `invalid-${randomUUID()}`;
        const seen: string[] = [];
        await bus.subscribe(group('invalid'), [TOPIC], async (d) => void seen.push(d.event.id));

        const badData = encodeEnvelope(TOPIC, taskEvent(key, 0));
        const badDataId = badData.headers['ce_id'];
        const unknown = encodeEnvelope(TOPIC, taskEvent(key, 1));
        const unknownId = unknown.headers['ce_id'];
        const kill = createEnvelope(
          'leash.control.kill.v1',
          {
            commandId: randomUUID(),
            scope: { kind: 'all' },
            reason: 'contract',
            issuedBy: 'contract',
            issuedAt: new Date().toISOString(),
          },
          { source: SOURCE },
        );
        const wrongTopic = encodeEnvelope('control', kill);
        const valid = taskEvent(key, 2);

        await bus.publishRaw(TOPIC, {
          ...badData,
          value: Buffer.from(JSON.stringify({ input: '', metadata: 'not a record' })),
        });
        await bus.publishRaw(TOPIC, {
          ...unknown,
          headers: { ...unknown.headers, ce_type: 'leash.tasks.unheard-of.v1' },
        });
        await bus.publishRaw(TOPIC, { ...wrongTopic, key });
        await bus.publish(TOPIC, valid);

        await waitFor(() => seen.includes(valid.id) && letters.length === 3, {
          description: 'the valid event handled and three dead letters',
        });
        expect(seen).toEqual([valid.id]);
        const byId = new Map(letters.map((l) => [l.headers['ce_id'], l]));
        expect(byId.get(badDataId)?.error).toMatch(/invalid data/);
        expect(byId.get(badDataId)?.error).toMatch(/agent/);
        expect(byId.get(unknownId)?.error).toMatch(
          /unknown event type "leash\.tasks\.unheard-of\.v1"/,
        );
        expect(byId.get(kill.id)?.error).toMatch(/does not travel on/);
        for (const letter of letters) {
          expect(letter.attempts).toBe(0);
          expect(letter.originalTopic).toBe(bus.topicName(TOPIC));
        }
      },
      TEST_TIMEOUT_MS,
    );

    it(
      'closes gracefully: drains the in-flight handler and commits it',
      async () => {
        const bus = busOn(await harness.open());
        const g = group('close');
        const key = `close-${randomUUID()}`;
        const [inFlight, later] = [0, 1].map((seq) => taskEvent(key, seq));
        const finish = gate();
        const order: string[] = [];
        let started = false;
        const subscription: Subscription = await bus.subscribe(g, [TOPIC], async (d) => {
          if (d.event.id !== inFlight.id) return;
          started = true;
          await finish.promise;
          order.push('handler finished');
        });
        await bus.publish(TOPIC, inFlight);
        await waitFor(() => started, { description: 'the handler to start' });

        const closing = subscription.close().then(() => order.push('closed'));
        // Let the close get as far as it can on its own; it must wait for the handler.
        for (let turn = 0; turn < 10; turn++) await new Promise((r) => setImmediate(r));
        expect(order).toEqual([]);
        finish.release();
        await closing;
        expect(order).toEqual(['handler finished', 'closed']);

        const peer = busOn(await harness.openPeer());
        const seen: string[] = [];
        await peer.subscribe(g, [TOPIC], async (d) => void seen.push(d.event.id));
        await peer.publish(TOPIC, later);
        await waitFor(() => seen.includes(later.id), { description: 'the new member to consume' });
        expect(seen).toEqual([later.id]);
      },
      TEST_TIMEOUT_MS,
    );

    describe('batches (SubscribeOptions.batch, transport.consumeBatches)', () => {
      /** A scope that stages what a batch did and keeps it only when the whole batch succeeded. */
      function stagingScope(kept: number[]) {
        const batches: number[][] = [];
        let staged: number[] | undefined;
        return {
          batches,
          record(seq: number) {
            (staged ?? kept).push(seq);
          },
          scope: async <R>(work: () => Promise<R>): Promise<R> => {
            staged = [];
            try {
              const result = await work();
              batches.push(staged);
              kept.push(...staged);
              return result;
            } finally {
              staged = undefined;
            }
          },
        };
      }

      it(
        'hands a partition its ready events in batches, in order, each batch in one scope',
        async () => {
          const transport = await harness.open();
          const bus = busOn(transport);
          const key = `batch-${randomUUID()}`;
          const events = Array.from({ length: 10 }, (_, seq) => taskEvent(key, seq));
          for (const event of events) await bus.publish(TOPIC, event);
          const kept: number[] = [];
          const staging = stagingScope(kept);
          await bus.subscribe(group('batch'), [TOPIC], async (d) => staging.record(seqOf(d)), {
            batch: { maxEvents: 4, maxMs: 60_000, scope: staging.scope },
          });
          await waitFor(() => kept.length === events.length, {
            description: 'every event handled',
          });
          expect(kept).toEqual(events.map((_, seq) => seq));
          // They were all ready: the first batch is full, and none is over the bound.
          expect(staging.batches[0]).toEqual([0, 1, 2, 3]);
          expect(Math.max(...staging.batches.map((b) => b.length))).toBe(4);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'sends a poison event of a batch to its dead letter alone, and handles the rest once, in order',
        async () => {
          const transport = await harness.open();
          const bus = busOn(transport);
          const letters = await deadLetters(bus);
          const key = `poison-${randomUUID()}`;
          const events = Array.from({ length: 6 }, (_, seq) => taskEvent(key, seq));
          for (const event of events) await bus.publish(TOPIC, event);
          const kept: number[] = [];
          const staging = stagingScope(kept);
          await bus.subscribe(
            group('poison'),
            [TOPIC],
            async (d) => {
              if (seqOf(d) === 2) throw new Error('poison');
              staging.record(seqOf(d));
            },
            { batch: { maxEvents: 6, scope: staging.scope } },
          );
          await waitFor(() => kept.length === 5 && letters.length === 1, {
            description: 'five events kept and one dead letter',
          });
          // The failed batch kept nothing: each event was handled again alone, the poison one dead-lettered.
          expect(kept).toEqual([0, 1, 3, 4, 5]);
          expect(letters[0]!.originalOffset).toBeDefined();
          expect(letters[0]!.error).toContain('poison');
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'passes a rejected batch again from its first record, and commits it once resolved',
        async () => {
          const transport = await harness.open();
          const bus = busOn(transport);
          const key = `again-${randomUUID()}`;
          for (let seq = 0; seq < 3; seq++) await bus.publish(TOPIC, taskEvent(key, seq));
          const g = group('again');
          const handed: string[][] = [];
          const consumer = await transport.consumeBatches(
            { group: g, topics: [bus.topicName(TOPIC)] },
            8,
            async (records) => {
              handed.push(records.map((r) => r.offset));
              if (handed.length === 1) throw new Error('the whole batch fails once');
            },
          );
          await waitFor(() => handed.length >= 2, { description: 'the batch passed again' });
          await consumer.stop();
          expect(handed[1]![0]).toBe(handed[0]![0]);
          expect(handed[0]).toHaveLength(3);
          // Committed past the batch: a new member of the group starts after it.
          const later = taskEvent(key, 3);
          await bus.publish(TOPIC, later);
          const seen: string[] = [];
          await busOn(await harness.openPeer()).subscribe(g, [TOPIC], async (d) => {
            seen.push(d.event.id);
          });
          await waitFor(() => seen.includes(later.id), {
            description: 'the next member to consume',
          });
          expect(seen).toEqual([later.id]);
        },
        TEST_TIMEOUT_MS,
      );
    });

    describe('trace context', () => {
      let contextManager: AsyncLocalStorageContextManager | undefined;

      beforeAll(() => {
        const manager = new AsyncLocalStorageContextManager().enable();
        // Register only if nobody has; disable only what this suite registered.
        if (context.setGlobalContextManager(manager)) contextManager = manager;
        else manager.disable();
        propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      });

      afterAll(() => {
        propagation.disable();
        if (contextManager) {
          context.disable();
          contextManager = undefined;
        }
      });

      it(
        "continues the producer's trace in the handler",
        async () => {
          const bus = busOn(await harness.open());
          const traceId = randomBytes(16).toString('hex');
          const spanId = randomBytes(8).toString('hex');
          const seen: { id: string; traceId?: string; spanId?: string; traceparent?: string }[] =
            [];
          await bus.subscribe(group('trace'), [TOPIC], async (d) => {
            const span = trace.getSpanContext(context.active());
            seen.push({
              id: d.event.id,
              traceId: span?.traceId,
              spanId: span?.spanId,
              traceparent: d.headers['traceparent'],
            });
          });

          const traced = taskEvent(`trace-${randomUUID()}`, 0);
          const untraced = taskEvent(`trace-${randomUUID()}`, 1);
          const producer = trace.setSpanContext(context.active(), {
            traceId,
            spanId,
            traceFlags: TraceFlags.SAMPLED,
          });
          await context.with(producer, () => bus.publish(TOPIC, traced));
          await bus.publish(TOPIC, untraced);

          await waitFor(() => seen.length === 2, { description: 'both events handled' });
          const byId = new Map(seen.map((s) => [s.id, s]));
          expect(byId.get(traced.id)).toEqual({
            id: traced.id,
            traceId,
            spanId,
            traceparent: `00-${traceId}-${spanId}-01`,
          });
          // No trace leaks from one delivery into another.
          expect(byId.get(untraced.id)?.traceId).toBeUndefined();
        },
        TEST_TIMEOUT_MS,
      );
    });
  });
}
