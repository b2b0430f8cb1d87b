import { parsePriceTable, priceFor, priceOf } from './price-table';

describe('price table', () => {
  const table = parsePriceTable('gpt-4o-mini=0.15/0.6, openai/gpt-4o = 2.5/10');

  it('prices tokens in whole micro-dollars, rounding up', () => {
    const mini = priceFor(table, 'gpt-4o-mini')!;
    expect(priceOf(mini, { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBe(750_000);
    expect(priceOf(mini, { inputTokens: 1_000, outputTokens: 0 })).toBe(150);
    expect(priceOf(mini, { inputTokens: 1, outputTokens: 0 })).toBe(1);
    expect(priceOf(priceFor(table, 'openai/gpt-4o')!, { inputTokens: 0, outputTokens: 100 })).toBe(
      1_000,
    );
  });

  it('has no price for a model it does not list, including names of Object members', () => {
    expect(priceFor(table, 'gpt-5')).toBeUndefined();
    expect(priceFor(table, 'constructor')).toBeUndefined();
    expect(priceFor(table, '__proto__')).toBeUndefined();
  });

  it('refuses malformed entries and a model priced twice', () => {
    expect(() => parsePriceTable('gpt=cheap')).toThrow('"gpt=cheap" is not model=input/output');
    expect(() => parsePriceTable('a=1/1,a=2/2')).toThrow('model "a" is priced twice');
  });
});
