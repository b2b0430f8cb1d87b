import { randomUUID } from 'node:crypto';
import { describeBusContract, type BusContractHarness } from '@leash/contract-suites';
import { KafkaTransport } from './kafka.transport';

const brokers = process.env.KAFKA_BROKERS?.split(',').filter((b) => b.trim() !== '');

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

if (brokers && brokers.length > 0) {
  describeBusContract(`kafka (${brokers.join(',')})`, () => kafkaHarness(brokers));

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
} else {
  const why =
    'KAFKA_BROKERS is unset; run `deploy/local/kafka.sh start` and export the KAFKA_BROKERS it prints';
  // One line in the run's output, not only a count: these tests never pass silently.
  process.stderr.write(`SKIPPED bus contract on Kafka: ${why}\n`);
  describe('bus contract: kafka', () => {
    it.skip('SKIPPED: KAFKA_BROKERS is unset; run `deploy/local/kafka.sh start` and export the KAFKA_BROKERS it prints', () =>
      undefined);
  });
}
