import { capOutput } from './tool-output';

describe('capOutput', () => {
  it('serialises objects as JSON and leaves small output whole', () => {
    expect(capOutput({ ticketId: 'T-1' })).toEqual({
      output: '{"ticketId":"T-1"}',
      truncated: false,
    });
    expect(capOutput('plain text')).toEqual({ output: 'plain text', truncated: false });
  });

  it('cuts output to the byte limit and says so', () => {
    const capped = capOutput('x'.repeat(20_000), 16 * 1024);
    expect(capped.truncated).toBe(true);
    expect(Buffer.byteLength(capped.output)).toBe(16 * 1024);
  });

  it('never splits a multi-byte character', () => {
    const capped = capOutput('€'.repeat(10), 10); // 3 bytes each
    expect(capped).toEqual({ output: '€€€', truncated: true });
  });
});
