// Why apart: which facts a policy set reads decides what each request builds and sends to Cedar.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/** Which request facts a policy set reads; the rest is not built or sent to Cedar. */
export interface PolicyReads {
  /** Attributes of the principal (tenant, profile version): the Agent entity is sent. */
  readonly principal: boolean;
  /**
   * Attributes of the resource (the tool). They are fixed per tool version, so
   * they are written into a copy of the set compiled per tool instead of sent
   * as an entity on every request: entities are the dearest part of a call.
   */
  readonly resource: boolean;
  readonly context: ReadonlySet<string> | 'all';
  readonly args: ReadonlySet<string> | 'all';
}

/** Walks policies' JSON to learn which facts they read. */
export class ReadsCollector {
  private principal = false;
  private resource = false;
  private allContext = false;
  private allArgs = false;
  private readonly context = new Set<string>();
  private readonly args = new Set<string>();

  policy(policy: cedar.PolicyJson): void {
    // Scope constraints (==, in, is) need no attributes: an entity Cedar is not given has no parents.
    for (const clause of policy.conditions) this.expression(clause.body);
  }

  result(): PolicyReads {
    return {
      principal: this.principal,
      resource: this.resource,
      context: this.allContext ? 'all' : new Set(this.context),
      args: this.allArgs ? 'all' : new Set(this.args),
    };
  }

  private expression(node: unknown): void {
    if (Array.isArray(node)) {
      for (const item of node) this.expression(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if ('Value' in record) return;
    if ('Var' in record) {
      if (record['Var'] === 'context') this.allContext = true;
      return;
    }
    for (const op of ['.', 'has', 'getTag', 'hasTag'] as const) {
      const access = record[op] as { left: unknown; attr?: string | string[] } | undefined;
      if (!access) continue;
      if (isVar(access.left, 'principal')) {
        this.principal = true;
        return;
      }
      if (isVar(access.left, 'resource')) {
        this.resource = true;
        return;
      }
      if (access.attr === undefined) break;
      const attrs = Array.isArray(access.attr) ? access.attr : [access.attr];
      const attr = attrs[0]!;
      const path = pathOf(access.left);
      if (path === 'context') {
        this.context.add(attr);
        // `context has args.x`: Cedar 4's nested has reads one argument.
        if (attr === 'args' && attrs[1] !== undefined) this.args.add(attrs[1]);
        // `context.args` itself, not one of its fields: every argument is read.
        if (attr === 'args' && op === '.') this.allArgs = true;
        return;
      }
      if (path === 'context.args') {
        this.context.add('args');
        this.args.add(attr);
        return;
      }
      this.expression(access.left);
      return;
    }
    for (const value of Object.values(record)) this.expression(value);
  }
}

function pathOf(node: unknown): 'context' | 'context.args' | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const record = node as Record<string, unknown>;
  if (record['Var'] === 'context') return 'context';
  const access = record['.'] as { left: unknown; attr: string } | undefined;
  if (access && access.attr === 'args' && pathOf(access.left) === 'context') return 'context.args';
  return undefined;
}

export function isVar(node: unknown, name: string): boolean {
  return (
    node !== null && typeof node === 'object' && (node as Record<string, unknown>)['Var'] === name
  );
}
