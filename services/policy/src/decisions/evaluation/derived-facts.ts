/*
 * Facts the policy context derives from the validated arguments. Each is
 * computed only when a policy reads it.
 */

/** Argument names whose values are recipients of a message. */
const RECIPIENT_FIELDS = /^(to|cc|bcc|recipients?|reply_?to)$/i;
const ADDRESS_DOMAIN = /@([^\s@,;<>"'()[\]]+)/g;

/** Lower-cased domains of every address in the recipient arguments (to, cc, bcc, ...). */
export function recipientDomains(args: Readonly<Record<string, unknown>>): string[] {
  const domains = new Set<string>();
  for (const [name, value] of Object.entries(args)) {
    if (!RECIPIENT_FIELDS.test(name)) continue;
    for (const text of stringLeaves(value)) {
      for (const match of text.matchAll(ADDRESS_DOMAIN)) {
        domains.add(match[1]!.toLowerCase().replace(/\.+$/, ''));
      }
    }
  }
  return [...domains].sort();
}

/** Below this length a value is too common to say it was copied (a `1`, a `normal`). */
const MIN_COPIED_LENGTH = 8;

/**
 * The arguments whose values came from untrusted output: a string (or
 * number) in the argument equals a reported value, or a long one contains or
 * is contained in a reported value. Compared case-insensitively.
 */
export function taintedArguments(
  args: Readonly<Record<string, unknown>>,
  tainted: readonly string[],
): string[] {
  if (tainted.length === 0) return [];
  const values = tainted.map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0);
  const exact = new Set(values);
  const long = values.filter((t) => t.length >= MIN_COPIED_LENGTH);
  const names: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    const leaves = stringLeaves(value).map((leaf) => leaf.trim().toLowerCase());
    const hit = leaves.some(
      (leaf) =>
        exact.has(leaf) ||
        (leaf.length >= MIN_COPIED_LENGTH && long.some((t) => t.includes(leaf))) ||
        long.some((t) => leaf.includes(t)),
    );
    if (hit) names.push(name);
  }
  return names.sort();
}

function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
  else if (Array.isArray(value)) for (const item of value) stringLeaves(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) stringLeaves(item, out);
  }
  return out;
}
