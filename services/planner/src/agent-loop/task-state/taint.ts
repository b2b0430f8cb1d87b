/*
 * Taint: which values of a proposal the model may have copied from content
 * that came from outside (the task input, tool output, tool errors).
 *
 * The planner keeps every untrusted text of a task. For a proposal it
 * reports, in `tainted`, the argument values found in those texts, matched
 * the way the policy gate matches (case-insensitive; exact for short
 * values, containment either way from 8 characters). Reporting only what
 * matches keeps the event small (the contract allows 1,000 values of 10,000
 * characters) while the policy reaches the same verdict it would reach with
 * every value ever seen. Candidate values of a text: the text itself, every
 * string and number in it when it is JSON, and identifier-like tokens in it
 * (emails, URLs, anything with a digit: ids, amounts).
 */

/** Below this length a value is too common to say it was copied (the policy's threshold). */
const MIN_COPIED_LENGTH = 8;
const MAX_VALUES = 1_000;
const MAX_VALUE_LENGTH = 10_000;

const TOKEN =
  /[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?:\/\/[^\s"'<>]+|[A-Za-z0-9][\w.-]*\d[\w.-]*|\d[\w.-]*/g;

/** String and number leaves of a JSON value. */
function leaves(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
  else if (Array.isArray(value)) for (const item of value) leaves(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) leaves(item, out);
  }
}

/** The values a text offers for copying, lower-cased. */
export function candidateValues(text: string): string[] {
  const values = [text];
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      leaves(JSON.parse(trimmed), values);
    } catch {
      // Cut-off JSON: the tokens below still find its ids and amounts.
    }
  }
  for (const match of text.matchAll(TOKEN)) values.push(match[0].replace(/[.,;:-]+$/, ''));
  const out = new Set<string>();
  for (const value of values) {
    const normalised = value.trim().toLowerCase();
    if (normalised.length > 0) out.add(normalised);
  }
  return [...out];
}

/** Candidate values of many texts, indexed for the match: exact set and long values. */
export class UntrustedValues {
  private readonly exact = new Set<string>();
  private readonly long: string[] = [];

  constructor(texts: Iterable<string>) {
    for (const text of texts) {
      for (const value of candidateValues(text)) {
        if (this.exact.has(value)) continue;
        this.exact.add(value);
        if (value.length >= MIN_COPIED_LENGTH) this.long.push(value);
      }
    }
  }

  /** The values of `args` (or the untrusted values inside them) that came from untrusted text. */
  taintedIn(args: Readonly<Record<string, unknown>>): string[] {
    const found = new Set<string>();
    const argLeaves: string[] = [];
    leaves(args, argLeaves);
    for (const raw of argLeaves) {
      const leaf = raw.trim();
      const lower = leaf.toLowerCase();
      if (lower.length === 0) continue;
      if (
        this.exact.has(lower) ||
        (lower.length >= MIN_COPIED_LENGTH && this.long.some((value) => value.includes(lower)))
      ) {
        found.add(leaf.slice(0, MAX_VALUE_LENGTH));
        continue;
      }
      // An untrusted value quoted inside a longer argument (a body quoting the email).
      const inside = this.long.find((value) => lower.includes(value));
      if (inside) found.add(inside.slice(0, MAX_VALUE_LENGTH));
    }
    return [...found].slice(0, MAX_VALUES);
  }
}
