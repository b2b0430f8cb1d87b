import { canonicalIdentity, type IdentityKind, type ToolDefinition } from '@leash/agents';

export type CanonicalArguments =
  | { readonly ok: true; readonly args: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * The arguments as the policy sees them: every argument the tool marks as an
 * identity in its canonical form (each string in it), the rest as proposed.
 * Done once here for every rule, so no rule can meet a case or Unicode
 * variant of what it names. The proposal itself is not changed: the executor
 * checks signatures over the arguments as proposed.
 */
export function canonicalArguments(
  tool: ToolDefinition,
  args: Readonly<Record<string, unknown>>,
): CanonicalArguments {
  const identities = tool.identities;
  if (!identities) return { ok: true, args };
  const out: Record<string, unknown> = { ...args };
  const problems: string[] = [];
  for (const [field, kind] of Object.entries(identities) as [string, IdentityKind][]) {
    if (!Object.prototype.hasOwnProperty.call(args, field)) continue;
    out[field] = canonicalValue(args[field], kind, (text) =>
      problems.push(`${field} "${text}" is not a valid ${kind}`),
    );
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, args: out };
}

function canonicalValue(
  value: unknown,
  kind: IdentityKind,
  invalid: (text: string) => void,
): unknown {
  if (typeof value === 'string') {
    const canonical = canonicalIdentity(kind, value);
    if (canonical === undefined) invalid(value);
    return canonical ?? value;
  }
  if (Array.isArray(value)) return value.map((item) => canonicalValue(item, kind, invalid));
  return value;
}
