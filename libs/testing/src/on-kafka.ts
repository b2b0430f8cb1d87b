const HOW =
  'KAFKA_BROKERS is unset; run `deploy/local/kafka.sh start` and export the KAFKA_BROKERS it prints';

/** The brokers of KAFKA_BROKERS, or none when it is unset or empty. */
export function kafkaBrokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
}

/**
 * A describe block that needs a real Kafka broker. Without KAFKA_BROKERS it
 * is reported as skipped, with one line in the run's output that says why and
 * how to run it: these tests never pass silently.
 */
export function describeOnKafka(title: string, body: (brokers: string[]) => void): void {
  const brokers = kafkaBrokers();
  if (brokers.length > 0) {
    describe(title, () => body(brokers));
    return;
  }
  process.stderr.write(`SKIPPED ${title}: ${HOW}\n`);
  describe(title, () => {
    it.skip(`SKIPPED: ${HOW}`, () => undefined);
  });
}
