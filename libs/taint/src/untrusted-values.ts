/*
 * Taint: which values of a proposal the model may have copied from content
 * that came from outside (the task input, tool output, tool errors).
 *
 * One matching rule, used by the planner (to report `tainted` with a
 * proposal) and by the policy gate (which works taint out itself from what
 * it has seen, and never depends on the planner's report): a value is
 * copied when, compared case-insensitively, it equals a candidate value of
 * an untrusted text, or, from 8 characters, one contains the other.
 * Candidate values of a text: the text itself, every string and number in
 * it when it is JSON, and identifier-like tokens in it (emails, URLs,
 * anything with a digit: ids, amounts).
 */

/** Below this length a value is too common to say it was copied (a `1`, a `normal`). */
export const MIN_COPIED_LENGTH = 8;
/** What the proposal contract carries at most in `tainted`. */
const MAX_VALUES = 1_000;
const MAX_VALUE_LENGTH = 10_000;

/*
 * Emails, URLs, anything with a digit. Each part is bounded (an address is at
 * most 254 characters): unbounded, a long run of letters with no `@` or digit
 * in a tool's output made the scan quadratic, 20 s for 64,000 characters, in
 * the planner and in the policy gate. A token past the bounds is cut, and the
 * whole text is still a candidate value for containment.
 */
const TOKEN =
  /[\w.+-]{1,256}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,10}|https?:\/\/[^\s"'<>]{1,2048}|[A-Za-z0-9][\w.-]{0,255}\d[\w.-]{0,255}|\d[\w.-]{0,255}/g;

/** String and number leaves of a JSON value. */
export function leaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
  else if (Array.isArray(value)) for (const item of value) leaves(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) leaves(item, out);
  }
  return out;
}

/** How values are compared: trimmed, lower-cased. */
export function normalisedValue(value: string): string {
  return value.trim().toLowerCase();
}

/** The values a text offers for copying, normalised. */
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
    const normalised = normalisedValue(value);
    if (normalised.length > 0) out.add(normalised);
  }
  return [...out];
}

/** Untrusted values indexed for the match: an exact set, and the long values for containment. */
export class UntrustedValues {
  private readonly exact = new Set<string>();
  private readonly long: string[] = [];

  /** The candidate values of `texts`. */
  constructor(texts: Iterable<string> = []) {
    for (const text of texts) for (const value of candidateValues(text)) this.add(value);
  }

  /** Values already taken from texts (or reported by a planner), matched as they are. */
  static of(values: Iterable<string>): UntrustedValues {
    const index = new UntrustedValues();
    for (const value of values) index.add(normalisedValue(value));
    return index;
  }

  get size(): number {
    return this.exact.size;
  }

  private add(value: string): void {
    if (value.length === 0 || this.exact.has(value)) return;
    this.exact.add(value);
    if (value.length >= MIN_COPIED_LENGTH) this.long.push(value);
  }

  /**
   * What makes one argument leaf tainted: the leaf itself when it equals an
   * untrusted value or (long) sits inside one; else a long untrusted value
   * quoted inside it (a body quoting the email). Undefined: not copied.
   */
  private copied(leaf: string): string | undefined {
    const lower = leaf.toLowerCase();
    if (lower.length === 0) return undefined;
    if (
      this.exact.has(lower) ||
      (lower.length >= MIN_COPIED_LENGTH && this.long.some((value) => value.includes(lower)))
    ) {
      return leaf;
    }
    return this.long.find((value) => lower.includes(value));
  }

  /** The planner's report: the values of `args` (or the untrusted values inside them) that were copied. */
  taintedIn(args: Readonly<Record<string, unknown>>): string[] {
    const found = new Set<string>();
    for (const raw of leaves(args)) {
      const copied = this.copied(raw.trim());
      if (copied !== undefined) found.add(copied.slice(0, MAX_VALUE_LENGTH));
    }
    return [...found].slice(0, MAX_VALUES);
  }

  /** The gate's fact: the names of the arguments with a copied value anywhere in them, sorted. */
  taintedArguments(args: Readonly<Record<string, unknown>>): string[] {
    const names: string[] = [];
    for (const [name, value] of Object.entries(args)) {
      if (leaves(value).some((leaf) => this.copied(leaf.trim()) !== undefined)) names.push(name);
    }
    return names.sort();
  }
}

/** The arguments whose values match reported untrusted values (a planner's `tainted`). */
export function taintedArguments(
  args: Readonly<Record<string, unknown>>,
  reported: readonly string[],
): string[] {
  return reported.length === 0 ? [] : UntrustedValues.of(reported).taintedArguments(args);
}

/** The untrusted text of a tool run, as the model is shown it: its output, or its error and any output. */
export function toolRunText(run: {
  readonly status: 'succeeded' | 'failed';
  readonly output?: string | undefined;
  readonly error?: { readonly kind: string; readonly message: string } | undefined;
}): string {
  if (run.status === 'succeeded') return run.output ?? '';
  const error = run.error ? `${run.error.kind}: ${run.error.message}` : 'failed';
  return run.output ? `${error}\n${run.output}` : error;
}
