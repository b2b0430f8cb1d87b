import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope, type AnyEnvelope } from '@leash/contracts';
import { StoreUnavailableError } from '@leash/store';
import { describeOnKafka, waitFor } from '@leash/testing';
import { openEngines } from './open-engines';

describe('openEngines on the embedded engines', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-engines-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function env() {
    return {
      LEASH_BUS_FILE: join(dir, 'nested', 'bus', 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'nested', 'store', 'store.db'),
      LEASH_PARTITIONS: '2',
    };
  }

  it('creates the directories, carries events, pings both engines, and closes once', async () => {
    const engines = await openEngines(loadConfig(BASE_ENV, { env: env() }), { source: 'test' });
    expect(existsSync(join(dir, 'nested', 'bus', 'bus.db'))).toBe(true);
    expect(existsSync(join(dir, 'nested', 'store', 'store.db'))).toBe(true);
    expect(engines.location.bus).toContain(join(dir, 'nested', 'bus', 'bus.db'));
    await expect(engines.bus.ping()).resolves.toBeUndefined();
    await expect(engines.store.ping()).resolves.toBeUndefined();

    const seen: AnyEnvelope[] = [];
    await engines.bus.subscribe('test', ['control'], async (delivery) => {
      seen.push(delivery.event);
    });
    const resume = createEnvelope(
      'leash.control.resume.v1',
      {
        commandId: 'c1',
        scope: { kind: 'all' },
        reason: 'test',
        issuedBy: 'tester',
        issuedAt: new Date().toISOString(),
      },
      { source: 'test' },
    );
    await engines.bus.publish('control', resume);
    await waitFor(() => seen.some((e) => e.id === resume.id), {
      description: 'the event back from the embedded bus',
    });

    await Promise.all([engines.close(), engines.close()]);
  });
});

describe('openEngines: adapters load only when chosen', () => {
  it('never loads kafkajs nor mongoose on the embedded engines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-engines-lazy-'));
    try {
      const fixture = join(__dirname, '..', 'test', 'open-embedded.fixture.ts');
      const out = execFileSync(
        process.execPath,
        ['-r', '@swc-node/register', fixture, join(dir, 'bus.db'), join(dir, 'store.db')],
        { cwd: join(__dirname, '..', '..', '..'), encoding: 'utf8' },
      );
      expect(out.trim()).toBe('0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openEngines with LEASH_STORE=mongo', () => {
  it('reports an unreachable server as unavailable (transient), and closes the bus it opened', async () => {
    const config = loadConfig(BASE_ENV, {
      env: {
        LEASH_STORE: 'mongo',
        MONGO_URL: 'mongodb://127.0.0.1:1/leash',
        MONGO_TIMEOUT_MS: '500',
        LEASH_BUS_FILE: ':memory:',
      },
    });
    const error = await openEngines(config, { source: 'test' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/^mongodb is unavailable: /);
  });
});

describeOnKafka('openEngines on Kafka', (brokerList) => {
  const brokers = brokerList.join(',');
  it('carries events over the broker with LEASH_BUS=kafka', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-engines-kafka-'));
    const config = loadConfig(BASE_ENV, {
      env: {
        LEASH_BUS: 'kafka',
        KAFKA_BROKERS: brokers,
        KAFKA_CLIENT_ID: 'leash-engines-test',
        KAFKA_REPLICATION_FACTOR: '1',
        LEASH_TOPIC_PREFIX: `engines-${process.pid}-${Date.now()}.`,
        LEASH_PARTITIONS: '2',
        LEASH_STORE_FILE: join(dir, 'store.db'),
      },
    });
    const engines = await openEngines(config, { source: 'test' });
    try {
      expect(engines.bus.system).toBe('kafka');
      expect(engines.location.bus).toBe(`kafka ${brokers}`);
      await expect(engines.bus.ping()).resolves.toBeUndefined();
      const seen: AnyEnvelope[] = [];
      await engines.bus.subscribe(
        'engines-test',
        ['control'],
        async (delivery) => void seen.push(delivery.event),
        { fromBeginning: false },
      );
      const kill = createEnvelope(
        'leash.control.kill.v1',
        {
          commandId: 'c-kafka',
          scope: { kind: 'all' },
          reason: 'test',
          issuedBy: 'test',
          issuedAt: new Date().toISOString(),
        },
        { source: 'test' },
      );
      await engines.bus.publish('control', kill);
      await waitFor(() => seen.length === 1, { description: 'the kill over Kafka' });
      expect(seen[0].id).toBe(kill.id);
    } finally {
      await engines.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
