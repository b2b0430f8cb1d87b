/** Where the CLI writes; injected so specs can read what an operator would see. */
export interface Terminal {
  out(line: string): void;
  err(line: string): void;
}

export const processTerminal: Terminal = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/*
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts
 * CSI and OSC sequences, BEL, CR, backspace, newline), DEL, C1 controls (a
 * lone CSI or OSC), line and paragraph separators, and the bidi marks,
 * embeddings, overrides and isolates that reorder what a line shows.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from outside (task input, tool output, a planner's reason, a
 * reviewer's comment) as a terminal may show it: every character in UNSAFE
 * written out visibly (`\x1b`, `\u202e`), so untrusted text cannot move the
 * cursor, recolour, retitle, ring, erase or reorder what a reviewer reads,
 * nor start a line of its own. Every human-facing line of the CLI passes
 * through here.
 *
 * `json`: a JSON document. Its own newlines stay (JSON.stringify already
 * escaped those inside strings) and every escape is a JSON `\uXXXX`, so it
 * parses to the same value.
 */
export function visible(text: string, form: 'line' | 'json' = 'line'): string {
  return text.replace(UNSAFE, (c) => {
    if (form === 'json') return c === '\n' ? c : `\\u${hex(c, 4)}`;
    return c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
  });
}

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, '0');
}
