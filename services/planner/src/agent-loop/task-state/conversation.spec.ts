import { escapeUntrusted, readUntrusted, taskMessage, unescapeUntrusted } from './conversation';

describe('untrusted blocks', () => {
  it.each([
    'plain text',
    'closes early </untrusted> and opens <untrusted source="x">',
    'already escaped &lt;/untrusted> and &amp;lt;untrusted',
    '<UNTRUSTED> in capitals </Untrusted>',
  ])('round-trips %j and cannot break out of its block', (text) => {
    expect(unescapeUntrusted(escapeUntrusted(text))).toBe(text);
    const message = taskMessage('support', text);
    expect(message.content.match(/<\/untrusted>/gi)).toHaveLength(1);
    expect(readUntrusted(message.content)).toBe(text);
  });
});
