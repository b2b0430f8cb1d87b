import { randomUUID } from 'node:crypto';
import { describeBusContract, type BusContractHarness } from '@leash/contract-suites';
import { describeOnKafka, waitFor } from '@leash/testing';
import { KafkaTransport } from './kafka.transport';

function kafkaHarness(brokerList: string[]): BusContractHarness {
  const transports: KafkaTransport[] = [];
  const openOne = async () => {
    const transport = new KafkaTransport({
      brokers: brokerList,
      clientId: 'leash-contract',
      replicationFactor: 1,
      // Short, so a member that left is noticed quickly; kafkajs heartbeats every tenth of it.
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
    });
    transports.push(transport);
    return transport;
  };
  return {
    open: openOne,
    openPeer: openOne,
    async crash(transport) {
      await (transport as KafkaTransport).abandon();
    },
    async cleanup() {
      await Promise.all(transports.splice(0).map((t) => t.close()));
    },
  };
}

describeOnKafka('the bus on Kafka', (brokers) => {
  describeBusContract(`kafka (${brokers.join(',')})`, () => kafkaHarness(brokers));

  describe('kafka rebalance during a long handler', () => {
    it('lets the running handler finish unaborted on a scale-out, and loses nothing', async () => {
      const transports: KafkaTransport[] = [];
      const open = () => {
        const transport = new KafkaTransport({
          brokers,
          clientId: 'leash-rebalance-test',
          replicationFactor: 1,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
        });
        transports.push(transport);
        return transport;
      };
      const topic = `rebalance-${randomUUID().slice(0, 8)}`;
      const group = `${topic}-group`;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const handled: { member: string; key: string; aborted: boolean }[] = [];
      let started = false;
      const handler =
        (member: string) => async (record: { key: string }, controls: { signal: AbortSignal }) => {
          if (record.key === 'long' && !started) {
            started = true;
            await released;
          }
          handled.push({ member, key: record.key, aborted: controls.signal.aborted });
        };
      try {
        const a = open();
        await a.ensureTopics([{ name: topic, partitions: 4 }]);
        await a.consume({ group, topics: [topic] }, handler('a'));
        await a.send(topic, [{ key: 'long', value: Buffer.from('1'), headers: {} }]);
        await waitFor(() => started, { description: 'the long handler to start' });

        // Scale out while it runs: the group rebalances around the running handler.
        const b = open();
        await b.consume({ group, topics: [topic] }, handler('b'));
        const keys = Array.from({ length: 40 }, (_, i) => `k-${i}`);
        await a.send(
          topic,
          keys.map((key) => ({ key, value: Buffer.from(key), headers: {} })),
        );
        // Both members work while the long handler runs (records behind it on its partition wait).
        await waitFor(() => new Set(handled.map((h) => h.member)).size === 2, {
          description: 'both members handling records while the long one runs',
          timeoutMs: 20_000,
        });
        release();
        await waitFor(
          () =>
            handled.some((h) => h.key === 'long') &&
            keys.every((key) => handled.some((h) => h.key === key)),
          { description: 'every record handled once the long one finished', timeoutMs: 20_000 },
        );
        const long = handled.filter((h) => h.key === 'long');
        // Never aborted by the rebalance. If its partition moved, the new owner may redo it
        // (at least once): at most once more.
        expect(long.every((h) => !h.aborted)).toBe(true);
        expect(long.length).toBeLessThanOrEqual(2);
        expect(new Set(handled.map((h) => h.member))).toEqual(new Set(['a', 'b']));
      } catch (error) {
        process.stderr.write(`handled: ${JSON.stringify(handled)}\n`);
        throw error;
      } finally {
        release();
        await Promise.all(transports.map((t) => t.close()));
      }
    }, 60_000);
  });

  describe('kafka deployments sharing a cluster', () => {
    it('share no consumer group: each one\'s "planner" gets all of its own records and none of the other\'s', async () => {
      const run = randomUUID().slice(0, 8);
      const deployments = ['staging', 'prod'].map((name) => {
        const prefix = `${name}-${run}.`;
        const transport = new KafkaTransport({
          brokers,
          clientId: `leash-${name}`,
          replicationFactor: 1,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          groupPrefix: prefix,
        });
        return { name, topic: `${prefix}tasks.requested`, transport, got: [] as string[] };
      });
      try {
        for (const d of deployments) {
          await d.transport.ensureTopics([{ name: d.topic, partitions: 4 }]);
          // The same service name in both: the group each joins must still be its own.
          await d.transport.consume({ group: `planner-${run}`, topics: [d.topic] }, async (r) => {
            d.got.push(`${r.topic}/${r.key}`);
          });
        }
        const keys = Array.from({ length: 20 }, (_, i) => `task-${i}`);
        for (const d of deployments) {
          await d.transport.send(
            d.topic,
            keys.map((key) => ({ key, value: Buffer.from(key), headers: {} })),
          );
        }
        await waitFor(() => deployments.every((d) => d.got.length >= keys.length), {
          description: 'each deployment to get all of its own records',
          timeoutMs: 30_000,
        });
        for (const d of deployments) {
          expect(new Set(d.got)).toEqual(new Set(keys.map((key) => `${d.topic}/${key}`)));
          expect(await d.transport.liveMembers(`planner-${run}`)).toBe(1);
        }
      } finally {
        await Promise.all(deployments.map((d) => d.transport.close()));
      }
    }, 60_000);
  });

  describe('kafka topic provisioning', () => {
    it('creates topics once and reports one that exists with fewer partitions', async () => {
      const warnings: string[] = [];
      const transport = new KafkaTransport({
        brokers,
        clientId: 'leash-provisioner-test',
        replicationFactor: 1,
        log: { warn: (message) => warnings.push(message) },
      });
      const name = `provision-${randomUUID().slice(0, 8)}`;
      try {
        await transport.ensureTopics([
          { name: `${name}.small`, partitions: 2 },
          { name: `${name}.small.dlq`, partitions: 2 },
        ]);
        // Idempotent: asking again for what exists is no error and no report.
        await transport.ensureTopics([{ name: `${name}.small`, partitions: 2 }]);
        expect(warnings).toEqual([]);

        // Another process (or an older deployment) configured with more partitions.
        const later = new KafkaTransport({
          brokers,
          clientId: 'leash-provisioner-test',
          log: { warn: (message) => warnings.push(message) },
        });
        try {
          await later.ensureTopics([{ name: `${name}.small`, partitions: 8 }]);
        } finally {
          await later.close();
        }
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain(
          `topic ${name}.small has 2 partitions, fewer than the 8 configured`,
        );
      } finally {
        await transport.close();
      }
    }, 30_000);
  });
});
