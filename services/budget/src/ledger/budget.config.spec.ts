import { BASE_ENV, ConfigError, extendEnv, loadConfig } from '@leash/config';
import { BUDGET_KEY, BUDGET_KEY_ENV } from '../test/ledger-harness';
import { BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS } from './budget.config';
import { priceFor } from './price-table';

const ENV = extendEnv(BASE_ENV, BUDGET_LEDGER_ENV, BUDGET_LEDGER_REQUIREMENTS);

describe('BUDGET_LEDGER_ENV', () => {
  it("parses the budget gate's private key and prices, with defaults for the rest", () => {
    const config = loadConfig(ENV, {
      env: { ...BUDGET_KEY_ENV, LEASH_MODEL_PRICES: 'm=1/2' },
    });
    expect(config.LEASH_BUDGET_SIGNING_KEY).toEqual(BUDGET_KEY.signingKey);
    expect(priceFor(config.LEASH_MODEL_PRICES, 'm')).toEqual({
      inputMicrosPerMTok: 1_000_000,
      outputMicrosPerMTok: 2_000_000,
    });
    expect(config.LEASH_BUDGET_SWEEP_INTERVAL_MS).toBe(5_000);
    expect(config.LEASH_BUDGET_SETTLE_GRACE_MS).toBe(300_000);
  });

  it('prices the reference agents’ model by default', () => {
    const config = loadConfig(ENV, { env: BUDGET_KEY_ENV });
    expect(priceFor(config.LEASH_MODEL_PRICES, 'gpt-4o-mini')).toBeDefined();
  });

  it('fails fast naming the variable, without printing the key', () => {
    let error: unknown;
    try {
      loadConfig(ENV, {
        env: {
          ...BUDGET_KEY_ENV,
          LEASH_BUDGET_SIGNING_KEY: 'k:dGlueS1zZWNyZXQ=',
          LEASH_MODEL_PRICES: 'x',
        },
        subject: 'budget',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(
      'LEASH_BUDGET_SIGNING_KEY (secret value hidden): expected id:<base64 PKCS#8 DER',
    );
    expect(message).toContain(
      'LEASH_MODEL_PRICES is "x": expected a comma-separated list of model=input/output',
    );
    expect(message).not.toContain('dGlueS1zZWNyZXQ=');
  });

  it("requires the budget gate's private key and the policy and approvals gates' public keys, and no other key", () => {
    expect(() => loadConfig(ENV, { env: {} })).toThrow(
      'LEASH_BUDGET_SIGNING_KEY (or LEASH_BUDGET_SIGNING_KEY_FILE) is required',
    );
    expect(() => loadConfig(ENV, { env: {} })).toThrow(
      'LEASH_APPROVALS_PUBLIC_KEYS (or LEASH_APPROVALS_PUBLIC_KEYS_FILE) is required',
    );
    expect(Object.keys(ENV.variables).filter((name) => /_KEYS?$/.test(name))).toEqual([
      'LEASH_BUDGET_SIGNING_KEY',
      'LEASH_POLICY_PUBLIC_KEYS',
      'LEASH_APPROVALS_PUBLIC_KEYS',
    ]);
  });
});
