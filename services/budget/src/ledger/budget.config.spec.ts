import { BASE_ENV, ConfigError, extendEnv, loadConfig } from '@leash/config';
import { BUDGET_LEDGER_ENV } from './budget.config';
import { priceFor } from './price-table';

const ENV = extendEnv(BASE_ENV, BUDGET_LEDGER_ENV);
const secret = 'a-secret-of-at-least-thirty-two-bytes!';

describe('BUDGET_LEDGER_ENV', () => {
  it('parses the key ring and prices, with defaults for the rest', () => {
    const config = loadConfig(ENV, {
      env: { LEASH_SIGNING_KEYS: `k2:${secret}, k1:${secret}x`, LEASH_MODEL_PRICES: 'm=1/2' },
    });
    expect(config.LEASH_SIGNING_KEYS).toEqual([
      { id: 'k2', secret },
      { id: 'k1', secret: `${secret}x` },
    ]);
    expect(priceFor(config.LEASH_MODEL_PRICES, 'm')).toEqual({
      inputMicrosPerMTok: 1_000_000,
      outputMicrosPerMTok: 2_000_000,
    });
    expect(config.LEASH_BUDGET_SWEEP_INTERVAL_MS).toBe(5_000);
    expect(config.LEASH_BUDGET_SETTLE_GRACE_MS).toBe(300_000);
  });

  it('prices the reference agents’ model by default', () => {
    const config = loadConfig(ENV, { env: { LEASH_SIGNING_KEYS: `k:${secret}` } });
    expect(priceFor(config.LEASH_MODEL_PRICES, 'gpt-4o-mini')).toBeDefined();
  });

  it('fails fast naming the variable, without printing the key', () => {
    let error: unknown;
    try {
      loadConfig(ENV, {
        env: { LEASH_SIGNING_KEYS: 'k:tiny-secret', LEASH_MODEL_PRICES: 'x' },
        subject: 'budget',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(
      'LEASH_SIGNING_KEYS (secret value hidden): expected a comma-separated list of id:secret',
    );
    expect(message).toContain(
      'LEASH_MODEL_PRICES is "x": expected a comma-separated list of model=input/output',
    );
    expect(message).not.toContain('tiny-secret');
  });

  it('requires the key ring', () => {
    expect(() => loadConfig(ENV, { env: {} })).toThrow('LEASH_SIGNING_KEYS is required');
  });
});
