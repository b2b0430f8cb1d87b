import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verdictKeyId } from '@leash/signing';
import { launcherEnv } from '../start';
import { demoReviewersWithKeys } from './demo-reviewer-keys';
import { DEMO_REVIEWERS } from './demo-reviewers';

describe('the keys of the demo reviewers', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-demo-keys-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are made once beside the store file, private, and given to the directory as public keys', () => {
    const env = { LEASH_STORE_FILE: join(dir, 'store.db') };
    const first = demoReviewersWithKeys(env);
    expect(first.keysDir).toBe(join(dir, 'reviewer-keys'));
    expect(first.reviewers).toHaveLength(DEMO_REVIEWERS.length);
    for (const reviewer of first.reviewers) {
      const file = join(dir, 'reviewer-keys', `${reviewer.reviewer}.key`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect('keys' in reviewer && reviewer.keys).toEqual([
        { publicKey: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) },
      ]);
    }
    // A restart keeps them.
    expect(demoReviewersWithKeys(env).reviewers).toEqual(first.reviewers);

    const seeded = JSON.parse(launcherEnv(env).LEASH_REVIEWERS!) as {
      reviewer: string;
      keys: { publicKey: string }[];
    }[];
    expect(seeded.map((r) => verdictKeyId(r.keys[0]!.publicKey))).toHaveLength(
      DEMO_REVIEWERS.length,
    );
    expect(JSON.stringify(seeded)).not.toContain('PRIVATE');
  });

  it('are not made for an in-memory store, on Kafka or MongoDB, or when reviewers are configured', () => {
    for (const env of [
      { LEASH_STORE_FILE: ':memory:' },
      { LEASH_BUS: 'kafka', LEASH_STORE_FILE: join(dir, 'store.db') },
      { LEASH_STORE: 'mongo', LEASH_STORE_FILE: join(dir, 'store.db') },
    ]) {
      expect(demoReviewersWithKeys(env)).toEqual({ reviewers: DEMO_REVIEWERS });
    }
    expect(
      launcherEnv({ LEASH_STORE_FILE: join(dir, 'store.db'), LEASH_REVIEWERS: '[]' })
        .LEASH_REVIEWERS,
    ).toBe('[]');
    expect(existsSync(join(dir, 'reviewer-keys'))).toBe(false);
  });
});
