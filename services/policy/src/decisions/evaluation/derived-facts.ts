import { normalisedValue, taintedArguments, type UntrustedValues } from '@leash/taint';

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

/** What the gate itself has seen of a task's untrusted content (its own record, not the planner's word). */
export interface SeenUntrusted {
  /** Candidate values of the task input, tool outputs and tool errors. */
  readonly values: UntrustedValues;
  /** The record reached its bound and stopped taking values: every argument counts as tainted. */
  readonly overflowed: boolean;
  /** Normalised values a read tool returned about the task's requester (see TaskTaint.verified). */
  readonly verified: ReadonlySet<string>;
}

/**
 * The arguments whose values came from untrusted content: those the gate
 * finds in what it has seen, and those matching a value the planner
 * reported (a hint; the union, so the planner can add but never remove).
 * Without a record (a gate run with no taint store) only the report counts.
 */
export function taintedArgumentNames(
  args: Readonly<Record<string, unknown>>,
  reported: readonly string[],
  seen: SeenUntrusted | undefined,
): string[] {
  if (seen?.overflowed) return Object.keys(args).sort();
  const names = new Set(taintedArguments(args, reported));
  for (const name of seen?.values.taintedArguments(args) ?? []) names.add(name);
  return [...names].sort();
}

/**
 * The arguments every value of which a read tool returned about the task's
 * requester (an order id from the lookup of the customer who asked): the
 * agent checked them against the system of record, whatever it copied them from.
 */
export function verifiedArguments(
  args: Readonly<Record<string, unknown>>,
  seen: SeenUntrusted | undefined,
): string[] {
  if (!seen || seen.verified.size === 0) return [];
  const names: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    const values = stringLeaves(value).map(normalisedValue);
    if (values.length > 0 && values.every((v) => seen.verified.has(v))) names.push(name);
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
