import { canonicalIdentity } from './identity';

describe('canonicalIdentity', () => {
  it.each([
    ['email', 'CEO@ACME.EXAMPLE', 'ceo@acme.example'],
    ['email', 'ceo@acme.example.', 'ceo@acme.example'],
    ['email', '\uff23\uff25\uff2f\uff20acme.example', 'ceo@acme.example'],
    ['email', 'info@Bücher.example', 'info@xn--bcher-kva.example'],
    ['email', 'info@xn--bcher-kva.example', 'info@xn--bcher-kva.example'],
    ['domain', 'ACME.example.', 'acme.example'],
    ['domain', 'bücher。example', 'xn--bcher-kva.example'],
    ['id', ' SUP-17 ', 'sup-17'],
    ['id', '\uff33\uff35\uff30-17', 'sup-17'],
  ] as const)('gives the %s %j as %j', (kind, text, canonical) => {
    expect(canonicalIdentity(kind, text)).toBe(canonical);
  });

  it.each([
    ['email', 'no-at-sign'],
    ['email', '@acme.example'],
    ['email', 'ceo@'],
    ['email', 'ceo@acme..example'],
    ['domain', 'two words.example'],
    ['domain', '.'],
    ['id', '   '],
  ] as const)('has no canonical %s for %j', (kind, text) => {
    expect(canonicalIdentity(kind, text)).toBeUndefined();
  });
});
