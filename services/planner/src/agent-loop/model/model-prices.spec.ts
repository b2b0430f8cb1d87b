import { ConfigError, DEFAULT_MODEL_PRICES, parsePriceTable } from '@leash/config';
import { modelNamesToPrice, requirePrices } from './model.factory';

const defaults = parsePriceTable(DEFAULT_MODEL_PRICES);

describe('requirePrices', () => {
  it('passes the simulated engines and the reference agents’ models with the default prices', () => {
    expect(() => requirePrices({ LEASH_MODEL_PRICES: defaults }, 'scripted')).not.toThrow();
    expect(() => requirePrices({ LEASH_MODEL_PRICES: defaults }, 'replay')).not.toThrow();
    expect(() => requirePrices({ LEASH_MODEL_PRICES: defaults }, 'openai')).not.toThrow();
  });

  it('refuses LEASH_MODEL_NAME without a price, naming LEASH_MODEL_PRICES and a value to set', () => {
    const check = () =>
      requirePrices({ LEASH_MODEL_NAME: 'my-local-model', LEASH_MODEL_PRICES: defaults }, 'openai');
    expect(check).toThrow(ConfigError);
    expect(check).toThrow(/"my-local-model" has no price in LEASH_MODEL_PRICES/);
    expect(check).toThrow(/model=input\/output/);
    expect(check).toThrow(/gpt-4o-mini=0\.15\/0\.6,.*my-local-model=0\/0'/);
  });

  it('checks the model calls are booked under for each engine', () => {
    expect(modelNamesToPrice({}, 'scripted')).toEqual(['scripted']);
    expect(modelNamesToPrice({ LEASH_MODEL_NAME: 'x' }, 'replay')).toEqual(['replay']);
    expect(modelNamesToPrice({ LEASH_MODEL_NAME: 'x' }, 'openai')).toEqual(['x']);
    expect(modelNamesToPrice({}, 'openai')).toContain('gpt-4o-mini');
  });
});
