// Why apart: per-tool copies of a set, with the tool's attributes written in, spare Cedar an entity per request.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { ToolDefinition } from '@leash/agents';
import { isVar } from './policy-reads';

/** Whether a policy's action scope (`action`, `action == A`, `action in [A, B]`) admits the tool. */
export function actionScopeMatches(scope: cedar.ActionConstraint, toolName: string): boolean {
  const names = (entities: readonly cedar.EntityUidJson[]) =>
    entities.some((entity) => entityId(entity) === toolName);
  switch (scope.op) {
    case 'All':
      return true;
    case '==':
      // A slot belongs to a template, which parsing refuses: keep it and let Cedar decide.
      return 'entity' in scope ? names([scope.entity]) : true;
    case 'in':
      return 'entities' in scope ? names(scope.entities) : names([scope.entity]);
    default:
      // A form this code does not know: keep the policy, Cedar decides.
      return true;
  }
}

/** An entity uid's id in either of Cedar's JSON forms (`{ type, id }` or `{ __entity: { type, id } }`). */
function entityId(uid: cedar.EntityUidJson): string | undefined {
  const record = uid as { id?: unknown; __entity?: { id?: unknown } };
  const id = record.__entity?.id ?? record.id;
  return typeof id === 'string' ? id : undefined;
}

/** What a policy can read of a tool as `resource.<attribute>`. */
export function toolAttributes(tool: ToolDefinition): Record<string, cedar.CedarValueJson> {
  return {
    riskClass: tool.riskClass,
    actionClass: tool.actionClass,
    tags: [...tool.tags],
    idempotent: tool.idempotent,
    movesMoney: tool.amountField !== undefined,
    version: tool.version,
  };
}

/** Replaces `resource.x` and `resource has x` with the tool's values, leaving unknown attributes to err as they would. */
export function withResourceAttributes(
  node: unknown,
  attributes: Record<string, cedar.CedarValueJson>,
): unknown {
  if (Array.isArray(node)) return node.map((item) => withResourceAttributes(item, attributes));
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  if ('Value' in record) return record;
  const access = record['.'] as { left: unknown; attr: string } | undefined;
  if (
    access &&
    isVar(access.left, 'resource') &&
    Object.prototype.hasOwnProperty.call(attributes, access.attr)
  ) {
    return { Value: attributes[access.attr] };
  }
  const has = record['has'] as { left: unknown; attr: string | string[] } | undefined;
  if (has && isVar(has.left, 'resource')) {
    const path = Array.isArray(has.attr) ? has.attr : [has.attr];
    let value: unknown = attributes;
    for (const step of path) {
      value =
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? (value as Record<string, unknown>)[step]
          : undefined;
    }
    return { Value: value !== undefined };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record))
    out[key] = withResourceAttributes(value, attributes);
  return out;
}
