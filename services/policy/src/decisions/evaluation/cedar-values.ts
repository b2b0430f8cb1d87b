import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';

// Cedar's JSON reads these keys as entity references and extension calls: a model-chosen key must not.
const ESCAPE_KEYS = new Set(['__entity', '__extn', '__expr']);

const DECIMAL_SCALE = 10_000;
// Cedar decimals are 64-bit with four fractional digits.
const DECIMAL_LIMIT = 922_337_203_685_477;

/**
 * A number as a Cedar decimal string (`12.3400`). `up` rounds towards +inf at
 * the fourth digit, so a threshold compared against an amount is never
 * undercut by rounding; a float error far below that digit is forgiven.
 */
export function decimalString(
  value: number,
  rounding: 'nearest' | 'up' = 'nearest',
): string | undefined {
  if (!Number.isFinite(value) || Math.abs(value) >= DECIMAL_LIMIT) return undefined;
  const scaledRaw = value * DECIMAL_SCALE;
  const scaled = rounding === 'up' ? Math.ceil(scaledRaw - 1e-6) : Math.round(scaledRaw);
  const sign = scaled < 0 ? '-' : '';
  const magnitude = Math.abs(scaled);
  const whole = Math.floor(magnitude / DECIMAL_SCALE);
  const fraction = String(magnitude % DECIMAL_SCALE).padStart(4, '0');
  return `${sign}${whole}.${fraction}`;
}

export function cedarDecimal(
  value: number,
  rounding: 'nearest' | 'up' = 'nearest',
): CedarValueJson | undefined {
  const text = decimalString(value, rounding);
  return text === undefined ? undefined : { __extn: { fn: 'decimal', arg: text } };
}

/**
 * A validated argument value in Cedar's JSON: strings, booleans and safe
 * integers (Long) as they are; fractional numbers as decimals; arrays as
 * sets; objects as records. Nulls and escape keys are left out, so a policy
 * reading them errs (and a forbid that errs denies).
 */
export function toCedarValue(value: unknown): CedarValueJson | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isSafeInteger(value) ? value : cedarDecimal(value);
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        const items: CedarValueJson[] = [];
        for (const item of value) {
          const converted = toCedarValue(item);
          if (converted !== undefined) items.push(converted);
        }
        return items;
      }
      return toCedarRecord(value as Record<string, unknown>);
    }
    default:
      return undefined;
  }
}

export function toCedarRecord(
  record: Readonly<Record<string, unknown>>,
  only?: ReadonlySet<string>,
): { [key: string]: CedarValueJson } {
  const out: { [key: string]: CedarValueJson } = {};
  for (const key of only ?? Object.keys(record)) {
    if (ESCAPE_KEYS.has(key) || !Object.prototype.hasOwnProperty.call(record, key)) continue;
    const converted = toCedarValue(record[key]);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}
