// First: the V8 flag must be set before any caller of Cedar is optimized.
import './no-inlined-wasm-calls';
import { createHash } from 'node:crypto';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PolicyVersion, ToolDefinition } from '@leash/agents';
import type { Route } from '@leash/contracts';
import { cedarDecimal, toCedarRecord } from './cedar-values';
import {
  recipientDomains,
  taintedArgumentNames,
  verifiedArguments,
  type SeenUntrusted,
} from './derived-facts';
import { canonicalArguments } from './identity-arguments';
import type { PolicyRule } from './cedar-annotations';
import type { PolicyReads } from './policy-reads';
import { parsePolicySet, PolicyCompileError, preparse } from './compile-policy-set';
import { actionScopeMatches, toolAttributes, withResourceAttributes } from './tool-policy-copies';

export type { PolicyRule } from './cedar-annotations';
export type { PolicyReads } from './policy-reads';
export { PolicyCompileError } from './compile-policy-set';

export interface CompiledPolicy {
  readonly policyId: string;
  readonly version: number;
  /** The id of the preparsed set inside Cedar; changes with the text. */
  readonly setId: string;
  readonly rules: ReadonlyMap<string, PolicyRule>;
  readonly reads: PolicyReads;
  /** The policies as Cedar JSON, by id. */
  readonly policies: Readonly<Record<string, cedar.PolicyJson>>;
  /** The text compiled, so a cached compilation is never used for an object whose text changed. */
  readonly source: string;
}

export interface EvaluationRequest {
  readonly agent: { readonly name: string; readonly version: number; readonly tenantId: string };
  readonly tool: ToolDefinition;
  /** Validated by the tool's schema. */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** Values the planner says it saw in untrusted output: a hint, added to what the gate saw. */
  readonly tainted: readonly string[];
  /** What the gate itself recorded of the task's untrusted content; taint is worked out from it. */
  readonly seen?: SeenUntrusted;
  readonly step: number;
  /**
   * Earlier proposals in this task that reached the policy: all, this tool,
   * these exact arguments, and the amounts of this tool's (when it has an
   * amount field), summed.
   */
  readonly priorCalls: {
    readonly total: number;
    readonly tool: number;
    readonly sameArguments: number;
    readonly amount?: number;
  };
}

export type Evaluation =
  | {
      readonly permitted: true;
      readonly route: Route;
      readonly approvalsRequired: number;
      /**
       * The group a matching rule names with `@reviewers`; when rules naming
       * different groups match, the first in the policy's text. Undefined: the
       * agent's approval chain starts where it starts.
       */
      readonly reviewerGroup?: string;
      readonly determiningPolicies: readonly string[];
      readonly reason: string;
      readonly errors: readonly string[];
      /** For an action routed to humans, the arguments whose values came from untrusted text. */
      readonly taintedArgs: readonly string[];
    }
  | {
      readonly permitted: false;
      readonly determiningPolicies: readonly string[];
      readonly reason: string;
      readonly errors: readonly string[];
    };

/** Cedar itself failed the request (not a policy erring): the gate fails closed. */
export class PolicyEvaluationError extends Error {
  override readonly name = 'PolicyEvaluationError';
}

type CedarContext = Record<string, cedar.CedarValueJson>;

// Cedar's preparsed sets live in one cache per process (per wasm instance), shared by every evaluator.
let toolSetCount = 0;

/**
 * Cedar, and nothing else: compiles policy versions (cached, preparsed once
 * per version) and evaluates one request against one. Default deny and
 * forbid-beats-permit are Cedar's; routes come from the determining permits'
 * annotations. Pure apart from Cedar's own preparsed-set cache, so the
 * benchmark can time it alone.
 */
export class PolicyEvaluator {
  private readonly compiled = new Map<string, CompiledPolicy>();
  /** By version object: the catalog hands out one per version, so most calls skip hashing the text. */
  private readonly compiledVersions = new WeakMap<PolicyVersion, CompiledPolicy>();
  private readonly agentEntities = new Map<string, cedar.EntityJson>();
  /** Per compiled set: the ids of its copies specialised to one tool definition. */
  private readonly toolSets = new WeakMap<CompiledPolicy, WeakMap<ToolDefinition, string>>();

  /** The problems with a policy text, for publishing; empty when it can be used. */
  check(text: string): string[] {
    try {
      parsePolicySet('candidate', 0, text);
      return [];
    } catch (error) {
      if (error instanceof PolicyCompileError) return [...error.problems];
      throw error;
    }
  }

  compile(policy: PolicyVersion): CompiledPolicy {
    const known = this.compiledVersions.get(policy);
    if (known && known.source === policy.cedar) return known;
    const digest = createHash('sha256').update(policy.cedar).digest('hex').slice(0, 16);
    const setId = `${policy.policyId}@${policy.version}#${digest}`;
    const cached = this.compiled.get(setId);
    if (cached) {
      this.compiledVersions.set(policy, cached);
      return cached;
    }
    const parsed = parsePolicySet(policy.policyId, policy.version, policy.cedar);
    preparse(policy.policyId, policy.version, setId, parsed.policies);
    const compiled: CompiledPolicy = {
      policyId: policy.policyId,
      version: policy.version,
      setId,
      rules: parsed.rules,
      reads: parsed.reads,
      policies: parsed.policies,
      source: policy.cedar,
    };
    this.compiled.set(setId, compiled);
    this.compiledVersions.set(policy, compiled);
    return compiled;
  }

  /**
   * The preparsed set to ask for this tool: a copy of the set holding only the
   * policies whose action scope can match the tool, with the tool's attributes
   * written in when the set reads them. A policy scoped to other actions
   * never applies (actions have no parents here: no schema, no action
   * entities), so Cedar answers the same, and spends a fifth less time on
   * a policy set like the support agent's.
   */
  private setFor(policy: CompiledPolicy, tool: ToolDefinition): string {
    let sets = this.toolSets.get(policy);
    if (!sets) {
      sets = new WeakMap();
      this.toolSets.set(policy, sets);
    }
    let setId = sets.get(tool);
    if (!setId) {
      toolSetCount += 1;
      setId = `${policy.setId}/${tool.name}@${tool.version}#${toolSetCount}`;
      const attributes = policy.reads.resource ? toolAttributes(tool) : undefined;
      const specialised: Record<string, cedar.PolicyJson> = {};
      for (const [id, json] of Object.entries(policy.policies)) {
        if (!actionScopeMatches(json.action, tool.name)) continue;
        specialised[id] = attributes
          ? {
              ...json,
              conditions: json.conditions.map((clause) => ({
                kind: clause.kind,
                body: withResourceAttributes(clause.body, attributes) as cedar.Expr,
              })),
            }
          : json;
      }
      preparse(policy.policyId, policy.version, setId, specialised);
      sets.set(tool, setId);
    }
    return setId;
  }

  /**
   * The Cedar context for a request: only the facts the policy set reads.
   * `args` are the arguments with identities in canonical form; taint is
   * matched on the arguments as proposed, the text the planner copied.
   */
  context(
    policy: CompiledPolicy,
    request: EvaluationRequest,
    args: Readonly<Record<string, unknown>> = request.arguments,
  ): CedarContext {
    const wants = (field: string): boolean =>
      policy.reads.context === 'all' || policy.reads.context.has(field);
    const context: CedarContext = {};
    if (wants('args')) {
      context['args'] = toCedarRecord(
        args,
        policy.reads.args === 'all' ? undefined : policy.reads.args,
      );
    }
    const amountField = request.tool.amountField;
    if (wants('amount') && amountField !== undefined) {
      const amount = request.arguments[amountField];
      const value = typeof amount === 'number' ? cedarDecimal(amount, 'up') : undefined;
      if (value !== undefined) context['amount'] = value;
    }
    if (wants('taskAmount') && amountField !== undefined) {
      // This action's amount and every earlier one of this tool in the task: a payment
      // split into parts under a threshold adds up past it here.
      const amount = request.arguments[amountField];
      const value =
        typeof amount === 'number'
          ? cedarDecimal(amount + (request.priorCalls.amount ?? 0), 'up')
          : undefined;
      if (value !== undefined) context['taskAmount'] = value;
    }
    if (wants('recipientDomains')) context['recipientDomains'] = recipientDomains(args);
    if (wants('tainted') || wants('taintedArgs')) {
      const names = taintedArgumentNames(request.arguments, request.tainted, request.seen);
      if (wants('tainted')) context['tainted'] = names.length > 0;
      if (wants('taintedArgs')) context['taintedArgs'] = names;
    }
    if (wants('verifiedArgs'))
      context['verifiedArgs'] = verifiedArguments(request.arguments, request.seen);
    if (wants('step')) context['step'] = request.step;
    if (wants('priorCalls')) {
      context['priorCalls'] = {
        total: request.priorCalls.total,
        tool: request.priorCalls.tool,
        sameArguments: request.priorCalls.sameArguments,
      };
    }
    return context;
  }

  evaluate(policy: CompiledPolicy | PolicyVersion, request: EvaluationRequest): Evaluation {
    const compiled = 'setId' in policy ? policy : this.compile(policy);
    const canonical = canonicalArguments(request.tool, request.arguments);
    if (!canonical.ok) {
      // A rule cannot be trusted to compare what it cannot name: fail closed.
      return {
        permitted: false,
        determiningPolicies: [],
        reason: `denied: ${canonical.problems.join('; ')}, so no rule of ${compiled.policyId} v${compiled.version} can be applied to it`,
        errors: [],
      };
    }
    const answer = cedar.statefulIsAuthorized({
      principal: { type: 'Agent', id: request.agent.name },
      action: { type: 'Action', id: request.tool.name },
      resource: { type: 'Tool', id: request.tool.name },
      context: this.context(compiled, request, canonical.args),
      entities: compiled.reads.principal ? [this.agentEntity(request.agent)] : [],
      preparsedPolicySetId: this.setFor(compiled, request.tool),
    });
    if (answer.type === 'failure') {
      throw new PolicyEvaluationError(
        `Cedar refused the request under policy ${compiled.policyId} v${compiled.version}: ${answer.errors
          .map((e) => e.message)
          .join('; ')}`,
      );
    }
    return interpret(compiled, request, answer.response);
  }

  private agentEntity(agent: EvaluationRequest['agent']): cedar.EntityJson {
    const key = `${agent.tenantId}\u0000${agent.name}\u0000${agent.version}`;
    let entity = this.agentEntities.get(key);
    if (!entity) {
      entity = {
        uid: { type: 'Agent', id: agent.name },
        attrs: { name: agent.name, tenant: agent.tenantId, profileVersion: agent.version },
        parents: [],
      };
      // Bounded: tenants x agents x versions is small, but never let a bad producer grow it forever.
      if (this.agentEntities.size >= 10_000) this.agentEntities.clear();
      this.agentEntities.set(key, entity);
    }
    return entity;
  }
}

function interpret(
  policy: CompiledPolicy,
  request: EvaluationRequest,
  response: cedar.Response,
): Evaluation {
  const errors = response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
  // Cedar skips a policy that errs. A forbid skipped that way could let an action through: deny instead.
  const brokenForbids = response.diagnostics.errors.filter(
    (e) => policy.rules.get(e.policyId)?.effect === 'forbid',
  );
  if (brokenForbids.length > 0) {
    return {
      permitted: false,
      determiningPolicies: brokenForbids.map((e) => e.policyId),
      reason: `denied: forbid ${brokenForbids
        .map((e) => `"${e.policyId}"`)
        .join(
          ', ',
        )} could not be evaluated for these arguments, so the gate fails closed (${brokenForbids
        .map((e) => e.error.message)
        .join('; ')})`,
      errors,
    };
  }
  const determining = response.diagnostics.reason;
  const rules = determining.map((id) => policy.rules.get(id)).filter((r): r is PolicyRule => !!r);
  if (response.decision === 'deny') {
    if (rules.length === 0) {
      return {
        permitted: false,
        determiningPolicies: [],
        reason: `denied: no policy in ${policy.policyId} v${policy.version} permits ${request.tool.name} with these arguments (default deny)`,
        errors,
      };
    }
    return {
      permitted: false,
      determiningPolicies: determining,
      reason: `denied by ${rules.map(describeRule).join('; ')}`,
      errors,
    };
  }
  const granting = rules.filter((r) => !r.escalate);
  if (granting.length === 0) {
    return {
      permitted: false,
      determiningPolicies: [],
      reason: `denied: only escalation rules (${rules
        .map((r) => `"${r.id}"`)
        .join(', ')}) matched ${request.tool.name}, and they grant nothing alone (default deny)`,
      errors,
    };
  }
  const humans = rules.filter((r) => r.route === 'approve' || r.escalate || r.approvals > 0);
  if (humans.length === 0) {
    return {
      permitted: true,
      route: 'allow',
      approvalsRequired: 0,
      determiningPolicies: determining,
      reason: `allowed by ${granting.map(describeRule).join('; ')}`,
      errors,
      taintedArgs: [],
    };
  }
  return {
    permitted: true,
    route: 'approve',
    approvalsRequired: Math.max(1, ...humans.map((r) => r.approvals)),
    ...reviewerGroupOf(policy, humans),
    determiningPolicies: determining,
    reason: `needs a human: ${humans.map(describeRule).join('; ')}`,
    errors,
    // What the reviewers are shown: which arguments came from untrusted text (the gate's finding).
    taintedArgs: taintedArgumentNames(request.arguments, request.tainted, request.seen),
  };
}

/** The group the first of `humans` in the policy's text names with @reviewers (Cedar's order is a set's). */
function reviewerGroupOf(
  policy: CompiledPolicy,
  humans: readonly PolicyRule[],
): { reviewerGroup?: string } {
  const matched = new Set(humans);
  for (const rule of policy.rules.values()) {
    if (matched.has(rule) && rule.reviewers !== undefined) return { reviewerGroup: rule.reviewers };
  }
  return {};
}

function describeRule(rule: PolicyRule): string {
  return rule.reason ? `"${rule.id}" (${rule.reason})` : `"${rule.id}"`;
}
