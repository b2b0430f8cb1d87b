import { diffLines, formatLineDiff } from './line-diff';

describe('diffLines', () => {
  it('shows an edited line as a removal then an addition, with line numbers', () => {
    const diff = diffLines('a\nb\nc\n', 'a\nB\nc\nd\n');
    expect(diff.lines).toEqual([
      { op: ' ', text: 'a', line: 1 },
      { op: '-', text: 'b', line: 2 },
      { op: '+', text: 'B', line: 2 },
      { op: ' ', text: 'c', line: 3 },
      { op: '+', text: 'd', line: 4 },
    ]);
    expect(diff).toMatchObject({ added: 2, removed: 1, unchanged: false });
  });

  it('finds a minimal diff when lines move', () => {
    const diff = diffLines('x\ny\nz', 'y\nz\nx');
    expect(diff.added + diff.removed).toBe(2);
  });

  it('treats CRLF like LF and a trailing newline as no line', () => {
    expect(diffLines('a\r\nb\r\n', 'a\nb').unchanged).toBe(true);
    expect(diffLines('', 'a\n').lines).toEqual([{ op: '+', text: 'a', line: 1 }]);
  });

  it('formats changes with context and elides the rest', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n');
    const after = before.replace('line 10', 'line ten');
    expect(formatLineDiff(diffLines(before, after), 1)).toBe(
      ['...', '  line 9', '- line 10', '+ line ten', '  line 11', '...'].join('\n'),
    );
  });
});
