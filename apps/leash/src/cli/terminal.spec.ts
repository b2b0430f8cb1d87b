import { visible } from './terminal';

describe('visible', () => {
  it('writes out every character a terminal would act on', () => {
    expect(visible('a\u001b[2Kb\u0007c\u001b]0;title\u0007d')).toBe(
      'a\\x1b[2Kb\\x07c\\x1b]0;title\\x07d',
    );
    expect(visible('\u009b2K \u007f \r \t \u0008')).toBe('\\x9b2K \\x7f \\x0d \\x09 \\x08');
    expect(visible('pay \u202e0001$\u202c \u2066x\u2069')).toBe(
      'pay \\u202e0001$\\u202c \\u2066x\\u2069',
    );
  });

  it('does not let text start a line of its own', () => {
    expect(visible('ok\nREFUSED nothing\u2028x')).toBe('ok\\x0aREFUSED nothing\\u2028x');
  });

  it('leaves letters of every script alone', () => {
    expect(visible('Zoë pays 5 € to Bücher, 東京 🙂')).toBe('Zoë pays 5 € to Bücher, 東京 🙂');
  });

  it('keeps a JSON document parseable, and the same value', () => {
    const value = { reason: 'x\u001b]0;t\u0007\u202e\u009b', lines: 'a\nb' };
    const json = JSON.stringify(value, null, 2);
    const shown = visible(json, 'json');
    expect(shown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(shown.split('\n')).toHaveLength(json.split('\n').length);
    expect(JSON.parse(shown)).toEqual(value);
  });
});
