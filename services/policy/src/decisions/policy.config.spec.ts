import { BASE_ENV, ConfigError, extendEnv, loadConfig } from '@leash/config';
import { POLICY_DECISIONS_REQUIREMENTS, POLICY_DECISIONS_VARIABLES } from './policy.config';
import { POLICY_KEY, POLICY_SIGNING_KEY_TEXT } from './test/policy-harness';

const ENV = extendEnv(BASE_ENV, POLICY_DECISIONS_VARIABLES, POLICY_DECISIONS_REQUIREMENTS);

describe('policy decisions config', () => {
  it("reads the policy gate's private key and the defaults, and declares no other key", () => {
    const config = loadConfig(ENV, { env: { LEASH_POLICY_SIGNING_KEY: POLICY_SIGNING_KEY_TEXT } });
    expect(config.LEASH_POLICY_SIGNING_KEY).toEqual(POLICY_KEY.signingKey);
    expect(config.LEASH_DECISION_TTL_MS).toBe(900_000);
    expect(Object.keys(ENV.variables).filter((name) => /KEY/.test(name))).toEqual([
      'LEASH_POLICY_SIGNING_KEY',
      'LEASH_POLICY_SIGNING_KEY_FILE',
    ]);
  });

  it('fails fast on a missing or malformed key without printing it', () => {
    expect(() => loadConfig(ENV, { env: {} })).toThrow(
      /LEASH_POLICY_SIGNING_KEY \(or LEASH_POLICY_SIGNING_KEY_FILE\) is required/,
    );
    let error: unknown;
    try {
      loadConfig(ENV, {
        env: { LEASH_POLICY_SIGNING_KEY: 'k1:c2hvcnQtc2VjcmV0', LEASH_DECISION_TTL_MS: '5' },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('LEASH_POLICY_SIGNING_KEY (secret value hidden)');
    expect(message).toContain('LEASH_DECISION_TTL_MS is "5"');
    expect(message).not.toContain('c2hvcnQtc2VjcmV0');
  });
});
