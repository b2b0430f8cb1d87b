import { createHash } from 'node:crypto';
import {
  NEEDS_HUMAN_TAG,
  toolsetVersion,
  type AgentProfile,
  type PolicySource,
  type PolicyVersion,
  type ProfileSource,
  type ToolDefinition,
  type ToolSource,
} from '@leash/agents';
import {
  createEnvelope,
  ActionDecidedV1,
  type ActionRejectedV1,
  type Envelope,
  type RejectionCode,
  type Route,
  type Versions,
} from '@leash/contracts';
import { describeScope, type KillSwitch } from '@leash/kill-switch';
import { GateSigner, canonicalHash, decisionFields } from '@leash/signing';
import type { Store, Transaction } from '@leash/store';
import { z } from 'zod';
import {
  activityId,
  decisionId,
  decisionRecords,
  rateWindowId,
  rateWindows,
  taskActivity,
  type DecisionRecord,
  type TaskActivity,
} from '../decisions.aggregates';
import { canonicalArguments } from '../evaluation/identity-arguments';
import {
  PolicyCompileError,
  PolicyEvaluationError,
  type Evaluation,
  type PolicyEvaluator,
} from '../evaluation/policy-evaluator';
import { taintedArgumentNames, type SeenUntrusted } from '../evaluation/derived-facts';
import {
  MAX_PARKED_PROPOSALS,
  aboutRequester,
  loadTaint,
  parkedOf,
  saveTaint,
  seenOf,
  waitingFor,
} from '../taint/task-taint';
import type { DecideActionCommand } from './decide-action.command';

export interface DecideActionDependencies {
  readonly store: Store;
  readonly profiles: ProfileSource;
  readonly policies: PolicySource;
  readonly tools: ToolSource;
  readonly evaluator: PolicyEvaluator;
  readonly signer: GateSigner;
  /** How long a signed decision is valid. */
  readonly decisionTtlMs: number;
  readonly clock?: () => number;
  /** The CloudEvents source and the inbox consumer name. Default `policy`. */
  readonly source?: string;
  /** The service's kill switch: a proposal in a killed scope is rejected before anything is evaluated. */
  readonly killSwitch?: Pick<KillSwitch, 'covering'>;
}

export type DecisionOutcome =
  | { readonly kind: 'duplicate'; readonly reason: string }
  /** Waits for what its task's taint depends on; decided when that is recorded (see releaseParked). */
  | { readonly kind: 'parked'; readonly reason: string }
  | { readonly kind: 'decided'; readonly event: Envelope<'leash.actions.decided.v1'> }
  | { readonly kind: 'rejected'; readonly event: Envelope<'leash.actions.rejected.v1'> };

/** A refusal before or by Cedar: the code and a reason the planner can act on. */
interface Refusal {
  readonly code: RejectionCode;
  readonly reason: string;
  readonly determiningPolicies?: readonly string[];
}

/** What the lookups outside the transaction found; versions are immutable, so reading them early is safe. */
interface Lookups {
  readonly profile?: AgentProfile;
  readonly policy?: PolicyVersion;
}

const MINUTE_MS = 60_000;

/**
 * Decides one proposed action, once. In one store transaction it claims the
 * event (a redelivery is skipped), runs the checks in order (profile,
 * allowlist, schema, loop, rate limit, Cedar), updates the loop and rate
 * counters, records the decision and puts the signed actions.decided or the
 * actions.rejected in the outbox, so state and event commit together.
 */
export class DecideActionUseCase {
  private readonly clock: () => number;
  private readonly source: string;
  private readonly toolsets = new Map<
    string,
    { readonly definitions: readonly ToolDefinition[]; readonly version: string }
  >();

  constructor(private readonly deps: DecideActionDependencies) {
    this.clock = deps.clock ?? Date.now;
    this.source = deps.source ?? 'policy';
  }

  async execute(command: DecideActionCommand): Promise<DecisionOutcome> {
    return this.run(command, false);
  }

  /**
   * Decides a proposal that was parked (its event already claimed) once the
   * record has what it waited for; parked again if it still waits.
   */
  async releaseParked(command: DecideActionCommand): Promise<DecisionOutcome> {
    return this.run(command, true);
  }

  private async run(command: DecideActionCommand, released: boolean): Promise<DecisionOutcome> {
    const { event } = command;
    const lookups = await this.lookup(event);
    return this.deps.store.transaction(async (tx) => {
      if (!released && !(await tx.inbox.claim(this.source, event.id))) {
        return { kind: 'duplicate', reason: `event ${event.id} was already decided` };
      }
      const tenantId = event.tenantId ?? '';
      const existing = await tx
        .repository(decisionRecords)
        .get(decisionId(tenantId, event.data.actionId));
      if (existing) {
        // Another event with a decided action id: a replay. The first decision stands; nothing is signed twice.
        return {
          kind: 'duplicate',
          reason: `action ${event.data.actionId} was decided from event ${existing.doc.eventId}`,
        };
      }
      const outcome = await this.decide(tx, command, lookups);
      if (outcome.kind === 'parked') return outcome;
      const enqueue = { headers: command.headers };
      if (outcome.kind === 'decided')
        await tx.outbox.enqueue('actions.decided', outcome.event, enqueue);
      else await tx.outbox.enqueue('actions.rejected', outcome.event, enqueue);
      return outcome;
    });
  }

  /**
   * The version of the profile's toolset. Hashing it renders every tool's
   * JSON Schema, the dearest step of a decision, so it is kept per profile
   * version and recomputed only when the tool source hands out other definitions.
   */
  private toolsetOf(profile: AgentProfile): string {
    const definitions = profile.tools.map((name) => this.deps.tools.tool(name)).filter(isDefined);
    const key = `${profile.name}@${profile.version}`;
    const cached = this.toolsets.get(key);
    if (
      cached &&
      cached.definitions.length === definitions.length &&
      cached.definitions.every((definition, i) => definition === definitions[i])
    ) {
      return cached.version;
    }
    const version = toolsetVersion(definitions);
    // Bounded like any cache keyed by input: profiles x versions is small, a bad producer is not.
    if (this.toolsets.size >= 1_000) this.toolsets.clear();
    this.toolsets.set(key, { definitions, version });
    return version;
  }

  private async lookup(event: Envelope<'leash.actions.proposed.v1'>): Promise<Lookups> {
    const profile = await this.deps.profiles.profile(
      event.data.agent.name,
      event.data.agent.version,
    );
    if (!profile) return {};
    const policy = await this.deps.policies.policy(profile.policy.id, profile.policy.version);
    return { profile, ...(policy ? { policy } : {}) };
  }

  private async decide(
    tx: Transaction,
    command: DecideActionCommand,
    lookups: Lookups,
  ): Promise<Exclude<DecisionOutcome, { kind: 'duplicate' }>> {
    const { event } = command;
    const { profile, policy } = lookups;
    const proposal = event.data;
    const now = this.clock();
    const baseVersions: Versions = {
      ...proposal.versions,
      // The model is the one the planner called (scripted, replay, LEASH_MODEL_NAME); the profile's only when it does not say.
      ...(profile
        ? { profile: profile.version, model: proposal.versions.model ?? profile.model }
        : {}),
      ...(policy ? { policy: policy.version } : {}),
    };
    const reject = (refusal: Refusal, versions: Versions = baseVersions) =>
      this.reject(tx, event, refusal, versions, now, policy);

    const tenantId = event.tenantId;
    if (!tenantId) {
      return reject({
        code: 'policy_denied',
        reason: 'the proposal names no tenant; nothing can be decided for it',
      });
    }
    // Checked in the transaction, so a kill applied while the lookups ran still counts; a
    // killed proposal counts towards no loop or rate limit.
    const kill = this.deps.killSwitch?.covering({
      tenantId,
      agent: proposal.agent.name,
      taskId: event.taskId!,
    });
    if (kill) {
      return reject({
        code: 'killed',
        reason: `killed: the kill switch stopped new work of ${describeScope(kill.scope)} (${kill.reason}; kill ${kill.commandId} by ${kill.issuedBy}). Nothing is decided in this scope until it is resumed.`,
      });
    }

    // Taint is the gate's finding: decide only once the task's input and every earlier
    // output are recorded. They travel on other topics and can arrive after this proposal.
    const taint = await loadTaint(tx, tenantId, event.taskId!, now);
    const parkedAt = taint.doc.parked.findIndex((parked) => parked.eventId === event.id);
    const waiting = waitingFor(taint.doc, proposal.step);
    if (waiting !== undefined) {
      if (parkedAt >= 0) return { kind: 'parked', reason: `still waits: ${waiting}` };
      if (taint.doc.parked.length >= MAX_PARKED_PROPOSALS) {
        return reject({
          code: 'policy_denied',
          reason: `${MAX_PARKED_PROPOSALS} proposals of this task already wait for the policy gate to see its tool outputs; propose again once they are decided`,
        });
      }
      taint.doc.parked.push(parkedOf(event, command.headers));
      await saveTaint(tx, taint, now);
      return { kind: 'parked', reason: `waits: ${waiting}` };
    }
    if (parkedAt >= 0) taint.doc.parked.splice(parkedAt, 1);
    const outcome = await this.judge(tx, event, lookups, baseVersions, now, seenOf(taint.doc));
    if (outcome.kind === 'decided') {
      // Allowed or sent to a human: its output (if it runs) is recorded before the next step is decided.
      taint.doc.awaiting[proposal.actionId] = {
        step: proposal.step,
        aboutRequester:
          outcome.event.data.riskClass === 'read' &&
          aboutRequester(taint.doc, outcome.event.data.arguments),
      };
    }
    if (outcome.kind === 'decided' || parkedAt >= 0) await saveTaint(tx, taint, now);
    return outcome;
  }

  /** The checks after the kill switch and the taint record: profile, allowlist, schema, loop, rate limit, Cedar. */
  private async judge(
    tx: Transaction,
    event: Envelope<'leash.actions.proposed.v1'>,
    { profile, policy }: Lookups,
    baseVersions: Versions,
    now: number,
    seen: SeenUntrusted,
  ): Promise<Exclude<DecisionOutcome, { kind: 'duplicate' | 'parked' }>> {
    const proposal = event.data;
    const tenantId = event.tenantId!;
    const reject = (refusal: Refusal, versions: Versions = baseVersions) =>
      this.reject(tx, event, refusal, versions, now, policy);
    if (!profile) {
      return reject({
        code: 'policy_denied',
        reason: `agent ${proposal.agent.name} v${proposal.agent.version} is not in the catalog; nothing is allowed for it`,
      });
    }
    const allowed = [...profile.tools].sort().join(', ');
    const tool = this.deps.tools.tool(proposal.tool);
    if (!profile.tools.includes(proposal.tool)) {
      return reject({
        code: tool ? 'not_allowlisted' : 'unknown_tool',
        reason: `${tool ? `"${proposal.tool}" is not a tool this agent may use` : `there is no tool named "${proposal.tool}"`}. The tools you may use: ${allowed}. Propose one of them, or escalate.`,
      });
    }
    if (!tool) {
      return reject({
        code: 'unknown_tool',
        reason: `"${proposal.tool}" is in the profile but no definition of it is deployed; use another tool or escalate`,
      });
    }
    const versions: Versions = { ...baseVersions, tools: this.toolsetOf(profile) };
    const parsed = tool.parameters.safeParse(proposal.arguments);
    if (!parsed.success) {
      return reject(
        {
          code: 'invalid_arguments',
          reason: `the arguments of ${tool.name} do not match its parameters: ${describeIssues(parsed.error)}. Fix them and propose again.`,
        },
        versions,
      );
    }
    const args = parsed.data as Record<string, unknown>;

    // Loop detection counts every well-formed proposal, whatever is decided after.
    const activity = await this.recordActivity(tx, tenantId, event.taskId!, tool, args, now);
    if (activity.sameArguments + 1 >= profile.loopThreshold) {
      return reject(
        {
          code: 'loop_detected',
          reason: `loop detected: ${tool.name} with these exact arguments has been proposed ${activity.sameArguments + 1} times in this task (the limit is ${profile.loopThreshold - 1}). It will not be allowed again; change the approach or escalate to a human.`,
        },
        versions,
      );
    }

    const limit = profile.rateLimits[tool.actionClass];
    const minute = Math.floor(now / MINUTE_MS);
    const window =
      limit === undefined ? undefined : await this.rateWindow(tx, tenantId, tool, minute);
    if (limit !== undefined && (window?.count ?? 0) >= limit) {
      const retryIn = Math.ceil(((minute + 1) * MINUTE_MS - now) / 1000);
      return reject(
        {
          code: 'rate_limited',
          reason: `rate limited: this tenant may run ${limit} ${tool.actionClass} actions a minute and has; propose again in ${retryIn} s`,
        },
        versions,
      );
    }

    if (!policy) {
      return reject(
        {
          code: 'policy_denied',
          reason: `policy ${profile.policy.id}${profile.policy.version ? ` v${profile.policy.version}` : ''} is not in the catalog; nothing is allowed until it is published`,
        },
        versions,
      );
    }
    let evaluation: Evaluation;
    try {
      evaluation = this.deps.evaluator.evaluate(policy, {
        agent: { name: profile.name, version: profile.version, tenantId },
        tool,
        arguments: args,
        tainted: proposal.tainted,
        seen,
        step: proposal.step,
        priorCalls: activity,
      });
    } catch (error) {
      // A policy that cannot be evaluated allows nothing: fail closed, and say why.
      if (error instanceof PolicyCompileError || error instanceof PolicyEvaluationError) {
        return reject({ code: 'policy_denied', reason: error.message }, versions);
      }
      throw error;
    }
    if (!evaluation.permitted) {
      return reject(
        {
          code: 'policy_denied',
          reason: evaluation.reason,
          determiningPolicies: evaluation.determiningPolicies,
        },
        versions,
      );
    }

    let route: Route = evaluation.route;
    let approvalsRequired = evaluation.approvalsRequired;
    const reviewerGroup = evaluation.reviewerGroup;
    let reason = evaluation.reason;
    let irreversibleLifted = false;
    if (tool.riskClass === 'irreversible' && route === 'allow') {
      if (profile.liftIrreversibleApproval.includes(tool.name)) {
        irreversibleLifted = true;
        reason = `${reason}; ${tool.name} is irreversible and the profile lifts its human approval`;
      } else {
        route = 'approve';
        approvalsRequired = 1;
        reason = `needs a human: ${tool.name} is irreversible (${reason})`;
      }
    } else if (route === 'allow' && tool.tags.includes(NEEDS_HUMAN_TAG)) {
      // An MCP tool its agent's folder says needs a reviewer, whatever the policy allows.
      route = 'approve';
      approvalsRequired = 1;
      reason = `needs a human: ${tool.name} is configured to need one (${reason})`;
    }

    // Reviewers are shown which arguments came from untrusted text (the gate's own finding).
    const taintedArgs =
      route !== 'approve'
        ? []
        : evaluation.route === 'approve'
          ? [...evaluation.taintedArgs].sort()
          : taintedArgumentNames(args, proposal.tainted, seen).sort();

    if (limit !== undefined) await this.admit(tx, tenantId, tool, minute, window);

    const taskId = event.taskId!;
    // A decision routed to humans must outlive the whole approval chain (each
    // group's wait), or a timely approval would reach the executor expired.
    const approvalWaitMs =
      route === 'approve' ? profile.approvals.ttlMs * profile.approvals.chain.length : 0;
    const expiresAt = new Date(now + this.deps.decisionTtlMs + approvalWaitMs);
    const identity = {
      tenantId,
      taskId,
      actionId: proposal.actionId,
      tool: tool.name,
      arguments: args,
    };
    const signed = this.deps.signer.sign(
      decisionFields(
        identity,
        route,
        policy.version,
        approvalsRequired,
        reviewerGroup,
        taintedArgs,
      ),
      expiresAt,
    );
    const amount = tool.amountField === undefined ? undefined : args[tool.amountField];
    const data: z.input<typeof ActionDecidedV1> = {
      actionId: proposal.actionId,
      agent: proposal.agent,
      tool: tool.name,
      // What was evaluated and signed: the parsed arguments, defaults filled in.
      arguments: args,
      step: proposal.step,
      reason: proposal.reason,
      riskClass: tool.riskClass,
      ...(typeof amount === 'number' ? { amountUsdMicros: Math.round(amount * 1_000_000) } : {}),
      actionClass: tool.actionClass,
      decision: {
        route,
        approvalsRequired,
        ...(reviewerGroup !== undefined ? { reviewerGroup } : {}),
        policyId: policy.policyId,
        policyVersion: policy.version,
        determiningPolicies: [...evaluation.determiningPolicies],
        reason,
        taintedArgs,
        irreversibleLifted,
        signed,
      },
      versions,
    };
    const decided = createEnvelope('leash.actions.decided.v1', data, {
      id: derivedId(event.id, 'decided'),
      source: this.source,
      tenantId,
      taskId,
    });
    await this.record(tx, event, {
      outcome: route,
      reason,
      approvalsRequired,
      determiningPolicies: [...evaluation.determiningPolicies],
      irreversibleLifted,
      policyId: policy.policyId,
      policyVersion: policy.version,
      versions,
      decidedAt: new Date(now).toISOString(),
      expiresAt: expiresAt.toISOString(),
    });
    return { kind: 'decided', event: decided };
  }

  private async reject(
    tx: Transaction,
    event: Envelope<'leash.actions.proposed.v1'>,
    refusal: Refusal,
    versions: Versions,
    now: number,
    policy: PolicyVersion | undefined,
  ): Promise<{ kind: 'rejected'; event: Envelope<'leash.actions.rejected.v1'> }> {
    const proposal = event.data;
    const data: ActionRejectedV1 = {
      actionId: proposal.actionId,
      agent: proposal.agent,
      tool: proposal.tool,
      gate: 'policy',
      code: refusal.code,
      reason: refusal.reason,
      versions,
    };
    const rejected = createEnvelope('leash.actions.rejected.v1', data, {
      id: derivedId(event.id, 'rejected'),
      source: this.source,
      ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
      taskId: event.taskId!,
    });
    await this.record(tx, event, {
      outcome: 'deny',
      code: refusal.code,
      reason: refusal.reason,
      approvalsRequired: 0,
      determiningPolicies: [...(refusal.determiningPolicies ?? [])],
      irreversibleLifted: false,
      ...(policy && versions.policy !== undefined
        ? { policyId: policy.policyId, policyVersion: policy.version }
        : {}),
      versions,
      decidedAt: new Date(now).toISOString(),
    });
    return { kind: 'rejected', event: rejected };
  }

  private async record(
    tx: Transaction,
    event: Envelope<'leash.actions.proposed.v1'>,
    decision: Omit<
      DecisionRecord,
      'actionId' | 'eventId' | 'tenantId' | 'taskId' | 'agent' | 'tool' | 'gate'
    >,
  ): Promise<void> {
    await tx.repository(decisionRecords).insert({
      actionId: event.data.actionId,
      eventId: event.id,
      tenantId: event.tenantId ?? '',
      taskId: event.taskId!,
      agent: event.data.agent,
      tool: event.data.tool,
      gate: 'policy',
      ...decision,
    });
  }

  /** Counts this proposal into the task's activity; returns the counts before it. */
  private async recordActivity(
    tx: Transaction,
    tenantId: string,
    taskId: string,
    tool: ToolDefinition,
    args: Record<string, unknown>,
    now: number,
  ): Promise<{ total: number; tool: number; sameArguments: number; amount: number }> {
    const repository = tx.repository(taskActivity);
    const stored = await repository.get(activityId(tenantId, taskId));
    // `CEO@x` and `ceo@x` are one call: identities count in their canonical form.
    const canonical = canonicalArguments(tool, args);
    const callKey = `${tool.name}:${canonicalHash(canonical.ok ? canonical.args : args)}`;
    const before = {
      total: stored?.doc.total ?? 0,
      tool: stored?.doc.tools[tool.name] ?? 0,
      sameArguments: stored?.doc.calls[callKey] ?? 0,
      amount: stored?.doc.amounts[amountKey(tool, args)] ?? 0,
    };
    // Every proposal's amount counts, whatever is decided after: a refused part of a split
    // payment proposed again is no smaller the second time.
    const proposed = tool.amountField === undefined ? undefined : args[tool.amountField];
    const amount = typeof proposed === 'number' && proposed > 0 ? proposed : 0;
    const next: TaskActivity = {
      tenantId,
      taskId,
      total: before.total + 1,
      tools: { ...stored?.doc.tools, [tool.name]: before.tool + 1 },
      calls: { ...stored?.doc.calls, [callKey]: before.sameArguments + 1 },
      amounts:
        amount > 0
          ? { ...stored?.doc.amounts, [amountKey(tool, args)]: before.amount + amount }
          : { ...stored?.doc.amounts },
      updatedAt: new Date(now).toISOString(),
    };
    if (stored) await repository.update(next, stored.version);
    else await repository.insert(next);
    return before;
  }

  private async rateWindow(
    tx: Transaction,
    tenantId: string,
    tool: ToolDefinition,
    minute: number,
  ): Promise<{ count: number; version: number } | undefined> {
    const stored = await tx
      .repository(rateWindows)
      .get(rateWindowId(tenantId, tool.actionClass, minute));
    return stored ? { count: stored.doc.count, version: stored.version } : undefined;
  }

  /** Counts an admitted action into its minute; a new minute clears the key's older windows. */
  private async admit(
    tx: Transaction,
    tenantId: string,
    tool: ToolDefinition,
    minute: number,
    window: { count: number; version: number } | undefined,
  ): Promise<void> {
    const repository = tx.repository(rateWindows);
    const doc = {
      tenantId,
      actionClass: tool.actionClass,
      minute,
      count: (window?.count ?? 0) + 1,
    };
    if (window) {
      await repository.update(doc, window.version);
      return;
    }
    await repository.insert(doc);
    const old = await repository.find({
      where: { tenantId, actionClass: tool.actionClass },
      range: { field: 'minute', lt: minute },
    });
    for (const stale of old) await repository.delete(stale.id, stale.version);
  }
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 20)
    .map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`)
    .join('; ');
}

/** The id of the event a proposal causes: the same on a retried transaction, so consumers can dedupe. */
function derivedId(eventId: string, kind: string): string {
  return createHash('sha256')
    .update(`policy\u0000${kind}\u0000${eventId}`)
    .digest('hex')
    .slice(0, 32);
}

/** Where a proposal's amount adds up: its tool, and the values of the tool's amountPer arguments. */
function amountKey(tool: ToolDefinition, args: Record<string, unknown>): string {
  if (!tool.amountPer || tool.amountPer.length === 0) return tool.name;
  return `${tool.name}:${canonicalHash(tool.amountPer.map((field) => args[field] ?? null))}`;
}
