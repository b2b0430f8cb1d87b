import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { TOPIC_NAMES } from '@leash/contracts';
import { publicKeyOf } from '@leash/signing';
import { describeOnKafka } from '@leash/testing';
import { runCli } from './cli';
import { recordingTerminal } from './cli/testing/recording-terminal';

/*
 * What a deployment runs once before its services start: `leash gate-keys`
 * (each gate's key pair as the files it mounts) and `leash topics provision`.
 */
describe('leash gate-keys', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'leash-gate-keys-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const keyOf = (file: string) => {
    const text = readFileSync(file, 'utf8').trim();
    const colon = text.indexOf(':');
    return { id: text.slice(0, colon), key: text.slice(colon + 1) };
  };

  it('makes each gate, and the operators, a private key (0600) and its public key, printing nothing secret', async () => {
    const run = recordingTerminal();
    const code = await runCli(
      ['gate-keys', '--dir', join(dir, 'private'), '--public-dir', join(dir, 'public')],
      {},
      run.t,
    );
    expect({ code, err: run.err }).toEqual({ code: 0, err: [] });
    expect(run.out).toHaveLength(4);
    for (const gate of ['policy', 'budget', 'approvals', 'operator']) {
      const privateFile = join(dir, 'private', `${gate}.key`);
      const pub = keyOf(join(dir, 'public', `${gate}.pub`));
      const secret = keyOf(privateFile);
      expect(statSync(privateFile).mode & 0o777).toBe(0o600);
      expect(publicKeyOf({ id: secret.id, privateKey: secret.key })).toEqual({
        id: pub.id,
        publicKey: pub.key,
      });
      expect(run.out.join('\n')).not.toContain(secret.key);
      expect(
        run.out.find((line) => line.startsWith(`${gate}: made key ${secret.id}`)),
      ).toBeDefined();
    }
  });

  it('keeps a key that is there and writes its public file again from it', async () => {
    const first = recordingTerminal();
    await runCli(['gate-keys', '--dir', dir, '--gate', 'budget'], {}, first.t);
    const before = readFileSync(join(dir, 'budget.key'), 'utf8');
    writeFileSync(join(dir, 'budget.pub'), 'stale:AAAA\n');
    const again = recordingTerminal();
    expect(await runCli(['gate-keys', '--dir', dir, '--gate', 'budget'], {}, again.t)).toBe(0);
    expect(readFileSync(join(dir, 'budget.key'), 'utf8')).toBe(before);
    const secret = keyOf(join(dir, 'budget.key'));
    expect(again.out[0]).toMatch(/^budget: kept key /);
    expect(publicKeyOf({ id: secret.id, privateKey: secret.key })).toEqual({
      id: secret.id,
      publicKey: keyOf(join(dir, 'budget.pub')).key,
    });
  });

  it('refuses an unknown gate, a missing --dir, and a private key file that is not a key', async () => {
    const unknown = recordingTerminal();
    expect(await runCli(['gate-keys', '--dir', dir, '--gate', 'planner'], {}, unknown.t)).toBe(2);
    expect(unknown.err[0]).toContain('"planner" is not a key holder');
    const noDir = recordingTerminal();
    expect(await runCli(['gate-keys'], {}, noDir.t)).toBe(2);
    expect(noDir.err[0]).toContain('gate-keys needs --dir D');
    writeFileSync(join(dir, 'policy.key'), 'not a key');
    const broken = recordingTerminal();
    expect(await runCli(['gate-keys', '--dir', dir, '--gate', 'policy'], {}, broken.t)).toBe(1);
    expect(broken.err[0]).toContain(`${join(dir, 'policy.key')} is not a gate signing key`);
    expect(readFileSync(join(dir, 'policy.key'), 'utf8')).toBe('not a key');
  });
});

describe('leash topics provision on the embedded bus', () => {
  it('creates every topic and says where', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-topics-'));
    try {
      const run = recordingTerminal();
      const code = await runCli(
        ['topics', 'provision'],
        { LEASH_BUS_FILE: join(dir, 'bus.db') },
        run.t,
      );
      expect({ code, err: run.err }).toEqual({ code: 0, err: [] });
      expect(run.out[0]).toContain(`provisioned ${TOPIC_NAMES.length} topics`);
      expect(run.out[0]).toContain('leash.control');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeOnKafka('leash topics provision on Kafka', (brokers) => {
  it('creates every topic and its dead-letter topic with LEASH_PARTITIONS partitions', async () => {
    const prefix = `provision-${randomUUID().slice(0, 8)}.`;
    const run = recordingTerminal();
    const env = {
      LEASH_BUS: 'kafka',
      KAFKA_BROKERS: brokers.join(','),
      LEASH_TOPIC_PREFIX: prefix,
      LEASH_PARTITIONS: '3',
    };
    expect(await runCli(['topics', 'provision'], env, run.t)).toBe(0);
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const expected = TOPIC_NAMES.flatMap((t) => [`${prefix}${t}`, `${prefix}${t}.dlq`]).sort();
      const { topics } = await admin.fetchTopicMetadata({ topics: expected });
      expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(
        expected.map((name) => [name, 3]),
      );
      // Twice is safe.
      expect(await runCli(['topics', 'provision'], env, recordingTerminal().t)).toBe(0);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});

describe("the operators' key of a deployment", () => {
  it('is needed to make or route a release, before anything is opened or published', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-operator-key-'));
    try {
      // Not the embedded engines, so no key is made: a deployment gives its own.
      const env = { LEASH_BUS: 'kafka', KAFKA_BROKERS: '127.0.0.1:1', LEASH_STORE_DIR: dir };
      for (const argv of [
        ['release', 'rollback', '--agent', 'support'],
        ['release', 'promote', 'support@2', '--full'],
        ['policy', 'publish', '--agent', 'support', '--file', join(dir, 'p.cedar')],
      ]) {
        const run = recordingTerminal();
        expect(await runCli(argv, env, run.t)).toBe(2);
        expect(run.err.join('\n')).toContain(
          "signed with the operators' key, and none is given: set LEASH_OPERATOR_SIGNING_KEY_FILE",
        );
      }
      // A command that only reads needs no key (it fails later, on the store that is not there).
      const status = recordingTerminal();
      expect(await runCli(['release', 'status', '--agent', 'support'], env, status.t)).toBe(1);
      expect(status.err.join('\n')).not.toContain("operators' key");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
