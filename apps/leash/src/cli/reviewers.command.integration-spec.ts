import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from '@leash/engines';
import { generateVerdictKeyPair } from '@leash/signing';
import { runCli } from '../cli';
import { ensureReviewerKey, readReviewerKey, reviewerKeyFile } from './reviewer-keys';
import type { Terminal } from './terminal';

/*
 * `leash reviewers` and the key file of `leash approvals` on real files: the
 * keys beside a SQLite store, as npm start and a newcomer's CLI use them.
 */

describe('leash reviewers on the embedded store', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-reviewers-'));
    env = {
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LOG_LEVEL: 'error',
    };
    // The files a running Leash would have made.
    const engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'spec' });
    await engines.close();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = { out: (l) => out.push(l), err: (l) => err.push(l) };
    const code = await runCli(argv, env, terminal);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('keygen writes a 0600 private key beside the store, prints only the public key, and keeps an existing one', async () => {
    const made = await cli('reviewers', 'keygen', '--reviewer', 'fin@acme.example');
    expect(made).toMatchObject({ code: 0, err: '' });
    const keyFile = join(dir, 'reviewer-keys', 'fin@acme.example.key');
    const privateKey = readFileSync(keyFile, 'utf8');
    expect(privateKey).toContain('-----BEGIN PRIVATE KEY-----');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'reviewer-keys')).mode & 0o077).toBe(0);
    expect(made.out).toContain(keyFile);
    expect(made.out).toContain(
      `--public-key @${join(dir, 'reviewer-keys', 'fin@acme.example.pub')}`,
    );
    // Nothing of the secret on the terminal.
    const secret = privateKey.replace(/-----[^-]+-----|\s/g, '');
    expect(made.out).not.toContain(secret.slice(20, 40));

    const again = await cli('reviewers', 'keygen', '--reviewer', 'fin@acme.example');
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists; it is kept');
    expect(readFileSync(keyFile, 'utf8')).toBe(privateKey);
  });

  it('adds a reviewer with the public key file, lists, revokes and removes', async () => {
    const pub = join(dir, 'reviewer-keys', 'fin@acme.example.pub');
    const added = await cli(
      'reviewers',
      'add',
      '--reviewer',
      'fin@acme.example',
      '--tenant',
      'acme',
      '--group',
      'finance',
      '--public-key',
      `@${pub}`,
    );
    expect(added).toMatchObject({ code: 0, err: '' });
    expect(added.out).toMatch(
      /added fin@acme\.example in tenant acme: groups finance; key ed25519:[0-9a-f]{16}; 1 active key/,
    );
    const keyId = /key (ed25519:[0-9a-f]{16})/.exec(added.out)![1]!;

    // A second key, given inline as base64.
    const second = generateVerdictKeyPair();
    const more = await cli(
      'reviewers',
      'add',
      '--reviewer',
      'fin@acme.example',
      '--tenant',
      'acme',
      '--group',
      'support-leads',
      '--public-key',
      second.publicKey,
    );
    expect(more.out).toContain(
      'updated fin@acme.example in tenant acme: groups finance, support-leads',
    );
    expect(more.out).toContain('2 active keys');

    const listed = await cli('reviewers', 'list', '--tenant', 'acme');
    expect(listed.out).toContain('fin@acme.example  tenant acme  groups finance, support-leads');
    expect(listed.out).toContain(`key ${keyId} added`);

    const revoked = await cli(
      'reviewers',
      'revoke-key',
      '--reviewer',
      'fin@acme.example',
      '--tenant',
      'acme',
      '--key-id',
      keyId,
    );
    expect(revoked).toMatchObject({ code: 0 });
    expect(revoked.out).toContain(`revoked ${keyId} of fin@acme.example`);
    expect((await cli('reviewers', 'list', '--tenant', 'acme')).out).toContain(
      `key ${keyId} added`,
    );
    expect((await cli('reviewers', 'list', '--tenant', 'acme')).out).toMatch(
      new RegExp(`key ${keyId} added \\S+ REVOKED`),
    );
    const readd = await cli(
      'reviewers',
      'add',
      '--reviewer',
      'fin@acme.example',
      '--tenant',
      'acme',
      '--public-key',
      `@${pub}`,
    );
    expect(readd.code).toBe(1);
    expect(readd.err).toContain('never trusted again');

    const removed = await cli(
      'reviewers',
      'remove',
      '--reviewer',
      'fin@acme.example',
      '--tenant',
      'acme',
    );
    expect(removed.out).toContain('inactive, every key revoked');
    expect((await cli('reviewers', 'list', '--tenant', 'acme')).out).toContain('REMOVED');
    expect(
      (await cli('reviewers', 'remove', '--reviewer', 'nobody', '--tenant', 'acme')).code,
    ).toBe(1);
  });

  it('refuses a public key that is not Ed25519, and a new reviewer without a group', async () => {
    const bad = join(dir, 'bad.pub');
    writeFileSync(bad, 'hello');
    const refused = await cli(
      'reviewers',
      'add',
      '--reviewer',
      'x',
      '--group',
      'g',
      '--public-key',
      `@${bad}`,
    );
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.err).toContain('not an Ed25519 public key');
    const groupless = await cli('reviewers', 'add', '--reviewer', 'y');
    expect(groupless.err).toContain('name at least one --group G');
  });

  it('reading a missing key file names the file, keygen and add', () => {
    const keyFile = reviewerKeyFile(env, 'ana.finance');
    expect(keyFile).toBe(join(dir, 'reviewer-keys', 'ana.finance.key'));
    expect(() => readReviewerKey(keyFile, 'ana.finance')).toThrow(
      `no key file for reviewer ana.finance at ${keyFile}: make one with leash reviewers keygen --reviewer ana.finance, ` +
        `register its public key with leash reviewers add --reviewer ana.finance --group G --public-key @${join(dir, 'reviewer-keys', 'ana.finance.pub')}, or pass --key-file F`,
    );
  });

  it('makes a demo key once and reads it back after', () => {
    const keyFile = join(dir, 'reviewer-keys', 'ben.finance.key');
    const first = ensureReviewerKey(keyFile);
    expect(ensureReviewerKey(keyFile)).toEqual(first);
    expect(readReviewerKey(keyFile, 'ben.finance').publicKey).toBe(first.publicKey);
  });
});
