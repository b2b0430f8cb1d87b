import { decimalString, toCedarValue } from './cedar-values';

describe('Cedar values', () => {
  it('writes decimals with four places, rounding up on request', () => {
    expect(decimalString(12.5)).toBe('12.5000');
    expect(decimalString(-2.25)).toBe('-2.2500');
    expect(decimalString(100.00001, 'up')).toBe('100.0001');
    expect(decimalString(0.1 + 0.2, 'up')).toBe('0.3000');
    expect(decimalString(1e18)).toBeUndefined();
  });

  it('maps JSON to Cedar: integers as Longs, fractions as decimals, arrays as sets, no nulls', () => {
    expect(toCedarValue({ a: 1, b: 1.5, c: ['x', null], d: null, e: true })).toEqual({
      a: 1,
      b: { __extn: { fn: 'decimal', arg: '1.5000' } },
      c: ['x'],
      e: true,
    });
  });
});
