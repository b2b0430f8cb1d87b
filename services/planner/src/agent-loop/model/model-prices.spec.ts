import { ConfigError, DEFAULT_MODEL_PRICES, parsePriceTable } from '@leash/config';
import { describeModel, modelNamesToPrice, requirePrices } from './model.factory';

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

describe('describeModel', () => {
  it('names the engine, and for openai the model and the endpoint, never the key', () => {
    expect(
      describeModel({
        LEASH_MODEL: undefined,
        OPENAI_API_KEY: undefined,
        OPENAI_BASE_URL: undefined,
      }),
    ).toBe('model scripted');
    expect(
      describeModel({
        LEASH_MODEL: 'replay',
        OPENAI_API_KEY: undefined,
        OPENAI_BASE_URL: undefined,
        LEASH_REPLAY_FILE: 'run.json',
      }),
    ).toBe('model replay of run.json');
    const openai = describeModel({
      LEASH_MODEL: undefined,
      OPENAI_API_KEY: 'sk-secret',
      OPENAI_BASE_URL: 'http://localhost:11434/v1',
      LEASH_MODEL_NAME: 'llama3.1',
      LEASH_RECORD_FILE: 'rec.json',
    });
    expect(openai).toBe('model llama3.1 at http://localhost:11434/v1, recorded to rec.json');
    expect(openai).not.toContain('sk-secret');
    expect(
      describeModel({
        LEASH_MODEL: 'openai',
        OPENAI_API_KEY: 'sk-secret',
        OPENAI_BASE_URL: undefined,
      }),
    ).toBe("model of each agent's profile (gpt-4o-mini) at https://api.openai.com/v1");
  });
});
