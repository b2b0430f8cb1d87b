import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGateKey } from '@leash/signing';
import { withDevSigningKeys } from './dev-signing-key';

describe("the embedded default's gate keys", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-dev-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes each gate a key pair once, beside the store, readable by its owner only', () => {
    const env = { LEASH_STORE_FILE: join(dir, 'store.db') };
    const first = withDevSigningKeys(env);
    expect(first.generatedIn).toBe(join(dir, 'gate-keys'));
    for (const gate of ['policy', 'budget', 'approvals']) {
      const file = join(dir, 'gate-keys', `${gate}.key`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const name = `LEASH_${gate.toUpperCase()}`;
      expect(first.env[`${name}_SIGNING_KEY`]).toBe(readFileSync(file, 'utf8').trim());
      const id = first.env[`${name}_SIGNING_KEY`]!.split(':')[0];
      expect(id).toMatch(new RegExp(`^${gate}-dev-[0-9a-f]{8}$`));
      expect(first.env[`${name}_PUBLIC_KEYS`]).toMatch(new RegExp(`^${id}:MCowBQYDK2VwAyEA`));
    }
    // A restart finds the same keys, so what was signed before it still verifies.
    const second = withDevSigningKeys(env);
    expect(second.env).toEqual(first.env);
  });

  it('keeps keys it is given, and derives their public keys', () => {
    const policy = generateGateKey('policy-ops').signingKey;
    const { env } = withDevSigningKeys({
      LEASH_STORE_FILE: ':memory:',
      LEASH_POLICY_SIGNING_KEY: `policy-ops:${policy.privateKey}`,
      LEASH_BUDGET_PUBLIC_KEYS: 'given',
    });
    expect(env.LEASH_POLICY_SIGNING_KEY).toBe(`policy-ops:${policy.privateKey}`);
    expect(env.LEASH_POLICY_PUBLIC_KEYS).toMatch(/^policy-ops:/);
    expect(env.LEASH_BUDGET_PUBLIC_KEYS).toBe('given');
    expect(env.LEASH_APPROVALS_SIGNING_KEY).toMatch(/^approvals-dev-/);
  });

  it('makes nothing for a distributed deployment: each key must be configured', () => {
    const env = { LEASH_BUS: 'kafka', LEASH_STORE_FILE: join(dir, 'store.db') };
    expect(withDevSigningKeys(env)).toEqual({ env });
    expect(() => statSync(join(dir, 'gate-keys'))).toThrow();
  });
});
