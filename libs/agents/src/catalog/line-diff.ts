/** One line of a diff: kept (` `), added (`+`) or removed (`-`). */
export interface DiffLine {
  readonly op: ' ' | '+' | '-';
  readonly text: string;
  /** 1-based line number in the old text (kept, removed) or the new text (added). */
  readonly line: number;
}

export interface LineDiff {
  readonly lines: readonly DiffLine[];
  readonly added: number;
  readonly removed: number;
  readonly unchanged: boolean;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  // A trailing newline ends the last line; it does not start an empty one.
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * A line diff by longest common subsequence. Policies are short (hundreds of
 * lines), so the quadratic table is cheap and the result is minimal.
 */
export function diffLines(before: string, after: string): LineDiff {
  const a = splitLines(before);
  const b = splitLines(after);
  // Common prefix and suffix need no table.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const n = endA - start;
  const m = endB - start;
  // lcs[i][j]: length of the LCS of a[start+i..endA) and b[start+j..endB).
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i]![j] =
        a[start + i] === b[start + j]
          ? lcs[i + 1]![j + 1]! + 1
          : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const lines: DiffLine[] = [];
  for (let k = 0; k < start; k += 1) lines.push({ op: ' ', text: a[k]!, line: k + 1 });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[start + i] === b[start + j]) {
      lines.push({ op: ' ', text: a[start + i]!, line: start + i + 1 });
      i += 1;
      j += 1;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      // Removals before additions, as `git diff` shows a replaced line.
      lines.push({ op: '-', text: a[start + i]!, line: start + i + 1 });
      i += 1;
    } else {
      lines.push({ op: '+', text: b[start + j]!, line: start + j + 1 });
      j += 1;
    }
  }
  for (let k = endA; k < a.length; k += 1) lines.push({ op: ' ', text: a[k]!, line: k + 1 });
  const added = lines.filter((l) => l.op === '+').length;
  const removed = lines.filter((l) => l.op === '-').length;
  return { lines, added, removed, unchanged: added === 0 && removed === 0 };
}

/**
 * The diff as text, `git diff` style without hunk headers: changed lines with
 * `context` kept lines around them; `...` marks skipped runs.
 */
export function formatLineDiff(diff: LineDiff, context = 3): string {
  const keep = new Array<boolean>(diff.lines.length).fill(false);
  diff.lines.forEach((line, index) => {
    if (line.op === ' ') return;
    for (
      let k = Math.max(0, index - context);
      k <= Math.min(diff.lines.length - 1, index + context);
      k += 1
    ) {
      keep[k] = true;
    }
  });
  const out: string[] = [];
  let skipped = false;
  diff.lines.forEach((line, index) => {
    if (!keep[index]) {
      if (!skipped) out.push('...');
      skipped = true;
      return;
    }
    skipped = false;
    out.push(`${line.op} ${line.text}`);
  });
  return out.join('\n');
}
