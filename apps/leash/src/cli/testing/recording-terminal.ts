import type { Terminal } from '../terminal';

/** A terminal for specs: what an operator would read on stdout and stderr, line by line. */
export function recordingTerminal(): { t: Terminal; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { t: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}
