// Why apart: turning a policy version's text into Cedar's preparsed set, its rules and its reads.
// First, as in policy-evaluator.ts: the V8 flag must be set before any caller of Cedar is optimized.
import './no-inlined-wasm-calls';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { ruleOf, type PolicyRule } from './cedar-annotations';
import { ReadsCollector, type PolicyReads } from './policy-reads';

/** A policy version that does not parse, or annotations that make no sense. */
export class PolicyCompileError extends Error {
  override readonly name = 'PolicyCompileError';
  constructor(
    readonly policyId: string,
    readonly version: number,
    readonly problems: readonly string[],
  ) {
    super(`policy ${policyId} v${version} cannot be used: ${problems.join('; ')}`);
  }
}

export interface ParsedPolicySet {
  readonly policies: Record<string, cedar.PolicyJson>;
  readonly rules: Map<string, PolicyRule>;
  readonly reads: PolicyReads;
}

export function preparse(
  policyId: string,
  version: number,
  setId: string,
  policies: Record<string, cedar.PolicyJson>,
): void {
  const answer = cedar.preparsePolicySet(setId, { staticPolicies: policies });
  if (answer.type === 'failure') {
    throw new PolicyCompileError(policyId, version, answer.errors.map(describeCedarError));
  }
}

export function parsePolicySet(policyId: string, version: number, text: string): ParsedPolicySet {
  const problems: string[] = [];
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') {
    throw new PolicyCompileError(policyId, version, parts.errors.map(describeCedarError));
  }
  if (parts.policy_templates.length > 0) problems.push('templates are not supported');
  if (parts.policies.length === 0)
    problems.push('the policy set is empty (it would deny everything)');
  const policies: Record<string, cedar.PolicyJson> = {};
  const rules = new Map<string, PolicyRule>();
  const reads = new ReadsCollector();
  parts.policies.forEach((policyText, index) => {
    const json = cedar.policyToJson(policyText);
    if (json.type === 'failure') {
      problems.push(...json.errors.map(describeCedarError));
      return;
    }
    const annotations = json.json.annotations ?? {};
    const id = annotations['id'] ?? `policy${index}`;
    if (rules.has(id)) {
      problems.push(`two policies have @id("${id}")`);
      return;
    }
    const rule = ruleOf(id, json.json.effect, annotations, problems);
    rules.set(id, rule);
    policies[id] = json.json;
    reads.policy(json.json);
  });
  if (problems.length > 0) throw new PolicyCompileError(policyId, version, problems);
  return { policies, rules, reads: reads.result() };
}

export function describeCedarError(error: cedar.DetailedError): string {
  const where = error.sourceLocations?.[0];
  const label = where?.label ? ` (${where.label})` : '';
  const at = where ? ` at offset ${where.start}` : '';
  return `${error.message}${at}${label}`;
}
