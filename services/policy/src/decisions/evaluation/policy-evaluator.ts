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

/** What one policy in a set says beyond permit/forbid, read from its annotations. */
export interface PolicyRule {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  /** `@route("approve")`: a matching permit sends the action to a human. */
  readonly route?: Route;
  /** `@approvals("N")`: that many distinct reviewers. */
  readonly approvals: number;
  /** `@escalate("approve")`: grants nothing alone; routes to a human what another permit allows. */
  readonly escalate: boolean;
  /** `@reason("...")`: told to the planner (forbid) or the reviewer (permit). */
  readonly reason?: string;
  /** `@reviewers("group")`: the reviewer group asked first, instead of the start of the agent's chain. */
  readonly reviewers?: string;
}

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
  /** Earlier proposals in this task that reached the policy: all, this tool, these exact arguments. */
  readonly priorCalls: {
    readonly total: number;
    readonly tool: number;
    readonly sameArguments: number;
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
    }
  | {
      readonly permitted: false;
      readonly determiningPolicies: readonly string[];
      readonly reason: string;
      readonly errors: readonly string[];
    };

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

// ------------------------------------------------------------------ parsing

interface ParsedPolicySet {
  readonly policies: Record<string, cedar.PolicyJson>;
  readonly rules: Map<string, PolicyRule>;
  readonly reads: PolicyReads;
}

function preparse(
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

/** Whether a policy's action scope (`action`, `action == A`, `action in [A, B]`) admits the tool. */
function actionScopeMatches(scope: cedar.ActionConstraint, toolName: string): boolean {
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
function toolAttributes(tool: ToolDefinition): Record<string, cedar.CedarValueJson> {
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
function withResourceAttributes(
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

function isVar(node: unknown, name: string): boolean {
  return (
    node !== null && typeof node === 'object' && (node as Record<string, unknown>)['Var'] === name
  );
}

function parsePolicySet(policyId: string, version: number, text: string): ParsedPolicySet {
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

/** A reviewer group's name, as profiles' approval chains spell them: 1-100 characters, no space at either end. */
const REVIEWER_GROUP = /^\S(?:.{0,98}\S)?$/;

function ruleOf(
  id: string,
  effect: cedar.Effect,
  annotations: cedar.Annotations,
  problems: string[],
): PolicyRule {
  const route = annotations['route'];
  if (route !== undefined && route !== 'approve' && route !== 'allow') {
    problems.push(`${id}: @route must be "approve" or "allow", not "${route}"`);
  }
  const approvalsText = annotations['approvals'];
  const approvals = approvalsText === undefined ? 0 : Number(approvalsText);
  if (
    approvalsText !== undefined &&
    !(Number.isInteger(approvals) && approvals >= 1 && approvals <= 10)
  ) {
    problems.push(`${id}: @approvals must be a whole number from 1 to 10, not "${approvalsText}"`);
  }
  const escalateText = annotations['escalate'];
  if (escalateText !== undefined && escalateText !== 'approve') {
    problems.push(`${id}: @escalate must be "approve", not "${escalateText}"`);
  }
  const routing = route === 'approve' || approvalsText !== undefined || escalateText !== undefined;
  if (effect === 'forbid' && routing) {
    problems.push(`${id}: a forbid cannot route to a human; use a permit with @route or @escalate`);
  }
  const reviewers = annotations['reviewers'];
  if (reviewers !== undefined) {
    if (!REVIEWER_GROUP.test(reviewers)) {
      problems.push(
        `${id}: @reviewers must name one reviewer group (${REVIEWER_GROUP}), not "${reviewers}"`,
      );
    } else if (effect === 'forbid' || !routing) {
      problems.push(
        `${id}: @reviewers names who approves, so it needs a permit that sends to a human (@route("approve"), @approvals or @escalate)`,
      );
    }
  }
  return {
    id,
    effect,
    ...(route === 'approve' || route === 'allow' ? { route } : {}),
    approvals: Number.isInteger(approvals) && approvals > 0 ? approvals : 0,
    escalate: escalateText !== undefined,
    ...(annotations['reason'] !== undefined ? { reason: annotations['reason'] } : {}),
    ...(reviewers !== undefined && REVIEWER_GROUP.test(reviewers) ? { reviewers } : {}),
  };
}

function describeCedarError(error: cedar.DetailedError): string {
  const where = error.sourceLocations?.[0];
  const label = where?.label ? ` (${where.label})` : '';
  const at = where ? ` at offset ${where.start}` : '';
  return `${error.message}${at}${label}`;
}

/** Walks policies' JSON to learn which facts they read. */
class ReadsCollector {
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
