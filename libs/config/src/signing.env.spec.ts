import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defineEnv, describeEnv, loadConfig, mergeEnv } from './index';
import {
  APPROVALS_PUBLIC_KEYS_ENV,
  POLICY_PUBLIC_KEYS_ENV,
  POLICY_SIGNING_KEY_ENV,
  keyFrom,
  keyRequirement,
} from './signing.env';

function pair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    private: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    public: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

const SIGNING = defineEnv(POLICY_SIGNING_KEY_ENV, [keyRequirement('LEASH_POLICY_SIGNING_KEY')]);
const CHECKING = defineEnv({ ...POLICY_PUBLIC_KEYS_ENV, ...APPROVALS_PUBLIC_KEYS_ENV }, [
  keyRequirement('LEASH_POLICY_PUBLIC_KEYS'),
  keyRequirement('LEASH_APPROVALS_PUBLIC_KEYS'),
]);

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe("a gate's private key", () => {
  const key = pair();

  it('comes from the variable or from its _FILE', () => {
    const config = loadConfig(SIGNING, {
      env: { LEASH_POLICY_SIGNING_KEY: ` policy-1:${key.private}\n` },
    });
    expect(config.LEASH_POLICY_SIGNING_KEY).toEqual({ id: 'policy-1', privateKey: key.private });
    const dir = mkdtempSync(join(tmpdir(), 'leash-keys-'));
    try {
      const file = join(dir, 'policy.key');
      writeFileSync(file, `policy-2:${key.private}\n`);
      const fromFile = loadConfig(SIGNING, { env: { LEASH_POLICY_SIGNING_KEY_FILE: file } });
      expect(
        keyFrom(
          fromFile.LEASH_POLICY_SIGNING_KEY,
          fromFile.LEASH_POLICY_SIGNING_KEY_FILE,
          'LEASH_POLICY_SIGNING_KEY',
        ),
      ).toEqual({ id: 'policy-2', privateKey: key.private });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is required, named with its _FILE', () => {
    expect(failure(() => loadConfig(SIGNING, { env: {} }))).toContain(
      'LEASH_POLICY_SIGNING_KEY (or LEASH_POLICY_SIGNING_KEY_FILE) is required: expected id:<base64 PKCS#8 DER',
    );
    expect(describeEnv(SIGNING)[0]).toMatchObject({
      name: 'LEASH_POLICY_SIGNING_KEY',
      required: 'unless LEASH_POLICY_SIGNING_KEY_FILE is set',
      secret: true,
    });
  });

  it('is given once: the value or the file, not both', () => {
    expect(
      failure(() =>
        loadConfig(SIGNING, {
          env: {
            LEASH_POLICY_SIGNING_KEY: `p:${key.private}`,
            LEASH_POLICY_SIGNING_KEY_FILE: '/etc/leash/policy.key',
          },
        }),
      ),
    ).toContain('set LEASH_POLICY_SIGNING_KEY or LEASH_POLICY_SIGNING_KEY_FILE, not both');
  });

  it.each([
    ['policy-1', 'not id:<base64 PKCS#8 DER>'],
    [`policy-1:${key.public}`, 'key policy-1 is not a PKCS#8 private key'],
    ['policy-1:c2hvcnQ=', 'key policy-1 is not a PKCS#8 private key'],
  ])('refuses %j without printing it', (value, problem) => {
    const message = failure(() =>
      loadConfig(SIGNING, { env: { LEASH_POLICY_SIGNING_KEY: value } }),
    );
    expect(message).toContain('LEASH_POLICY_SIGNING_KEY (secret value hidden)');
    expect(message).toContain(problem);
    expect(message).not.toContain(value);
  });

  it('names a _FILE it cannot read', () => {
    expect(
      failure(() =>
        loadConfig(SIGNING, { env: { LEASH_POLICY_SIGNING_KEY_FILE: '/no/such/policy.key' } }),
      ),
    ).toContain('cannot read /no/such/policy.key: ENOENT');
  });

  it('refuses a key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'der', type: 'pkcs8' })
      .toString('base64');
    expect(
      failure(() => loadConfig(SIGNING, { env: { LEASH_POLICY_SIGNING_KEY: `r:${rsa}` } })),
    ).toContain('key r is not an Ed25519 key');
  });
});

describe("a gate's public keys", () => {
  const [old, current] = [pair(), pair()];

  it('are a list in order, the retired ones with the time they were retired', () => {
    const config = loadConfig(CHECKING, {
      env: {
        LEASH_POLICY_PUBLIC_KEYS: `p2:${current.public}, p1:${old.public}:2026-12-03T10:00:00.000Z`,
        LEASH_APPROVALS_PUBLIC_KEYS: `a1:${old.public}`,
      },
    });
    expect(config.LEASH_POLICY_PUBLIC_KEYS).toEqual([
      { id: 'p2', publicKey: current.public },
      { id: 'p1', publicKey: old.public, retiredAt: '2026-12-03T10:00:00.000Z' },
    ]);
  });

  it('are required for each gate the service checks, and named when missing', () => {
    const message = failure(() =>
      loadConfig(CHECKING, { env: { LEASH_POLICY_PUBLIC_KEYS: `p1:${old.public}` } }),
    );
    expect(message).toContain(
      'LEASH_APPROVALS_PUBLIC_KEYS (or LEASH_APPROVALS_PUBLIC_KEYS_FILE) is required',
    );
    expect(message).not.toContain('LEASH_POLICY_PUBLIC_KEYS (or');
  });

  it.each([
    [`p1:${current.public},p1:${old.public}`, 'key id p1 appears twice'],
    ['p1:bm90IGEga2V5', 'key p1 is not an SPKI public key'],
    [`p1:${current.public}:yesterday`, 'retired at "yesterday" is not an ISO 8601 time'],
    [' , ', 'no key'],
    ['p 1:abc', 'an entry is not id:<base64 SPKI DER>'],
  ])('refuses %j', (value, problem) => {
    const message = failure(() =>
      loadConfig(CHECKING, {
        env: { LEASH_POLICY_PUBLIC_KEYS: value, LEASH_APPROVALS_PUBLIC_KEYS: `a:${old.public}` },
      }),
    );
    expect(message).toContain('LEASH_POLICY_PUBLIC_KEYS is');
    expect(message).toContain(problem);
  });

  it('merge into one launcher without two meanings of one variable', () => {
    expect(() => mergeEnv(SIGNING, CHECKING, SIGNING)).not.toThrow();
    expect(mergeEnv(SIGNING, CHECKING, SIGNING).requirements).toHaveLength(3);
  });
});
