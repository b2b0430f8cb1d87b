import { BASE_ENV, ConfigError, extendEnv, loadConfig } from '@leash/config';
import { POLICY_DECISIONS_VARIABLES } from './policy.config';

const ENV = extendEnv(BASE_ENV, POLICY_DECISIONS_VARIABLES);
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';

describe('policy decisions config', () => {
  it('reads the key ring and the defaults', () => {
    const config = loadConfig(ENV, { env: { LEASH_SIGNING_KEYS: `k1:${SECRET}` } });
    expect(config.LEASH_SIGNING_KEYS).toEqual([{ id: 'k1', secret: SECRET }]);
    expect(config.LEASH_DECISION_TTL_MS).toBe(900_000);
    expect(config.LEASH_SEED_REFERENCE_AGENTS).toBe(true);
  });

  it('fails fast on a missing or weak key without printing it', () => {
    expect(() => loadConfig(ENV, { env: {} })).toThrow(/LEASH_SIGNING_KEYS is required/);
    let error: unknown;
    try {
      loadConfig(ENV, {
        env: { LEASH_SIGNING_KEYS: 'k1:short-secret', LEASH_DECISION_TTL_MS: '5' },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('LEASH_SIGNING_KEYS (secret value hidden)');
    expect(message).toContain('LEASH_DECISION_TTL_MS is "5"');
    expect(message).not.toContain('short-secret');
  });
});
