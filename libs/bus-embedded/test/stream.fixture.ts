/*
 * A second process on a bus file, for the multi-process and crash tests. Its
 * one argument is JSON (see FixtureArgs). It can consume a topic in a group,
 * recording every handled record, and publish a stream, recording every
 * acknowledged receipt. Both logs are appended synchronously, so what they hold
 * survives a SIGKILL. SIGTERM closes the bus gracefully and exits 0.
 */
import { appendFileSync } from 'node:fs';
import { SqliteTransport, type SqliteTransportOptions } from '../src';

interface FixtureArgs {
  readonly file: string;
  readonly topic: string;
  /** Consume in this group, appending `partition offset value` per handled record to handledLog. */
  readonly group?: string;
  readonly handledLog?: string;
  /** Publish this many records (-1: until killed), appending `partition offset value` per receipt. */
  readonly publish?: number;
  readonly publishedLog?: string;
  readonly keys?: number;
  readonly options?: Partial<SqliteTransportOptions>;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as FixtureArgs;
  const bus = new SqliteTransport({ ...args.options, filename: args.file });
  process.on('SIGTERM', () => {
    void bus.close().then(() => process.exit(0));
  });
  await bus.ensureTopics([{ name: args.topic, partitions: 8 }]);
  if (args.group) {
    const handledLog = args.handledLog!;
    await bus.consume({ group: args.group, topics: [args.topic] }, async (record) => {
      appendFileSync(handledLog, `${record.partition} ${record.offset} ${record.value}\n`);
      // Yield, so handlers interleave with publishing as in a real service.
      await new Promise((resolve) => setImmediate(resolve));
    });
  }
  process.stdout.write('ready\n');
  const total = args.publish ?? 0;
  const keys = args.keys ?? 16;
  for (let seq = 0; total === -1 || seq < total;) {
    const size = Math.min(1 + (seq % 4), total === -1 ? 4 : total - seq);
    const batch = Array.from({ length: size }, (_, i) => {
      const key = `k${(seq + i) % keys}`;
      return { key, value: Buffer.from(`${key}:${seq + i}`), headers: {} };
    });
    const receipts = await bus.send(args.topic, batch);
    if (args.publishedLog) {
      const lines = receipts.map((r, i) => `${r.partition} ${r.offset} ${batch[i].value}\n`);
      appendFileSync(args.publishedLog, lines.join(''));
    }
    seq += size;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (total > 0) process.stdout.write('published\n');
  if (!args.group) {
    await bus.close();
    process.exit(0);
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
