import { EVENTS, type AnyEnvelope, type TopicName } from '@leash/contracts';
import type { AuditDecision, AuditEntry, AuditEntryKind } from './audit.aggregates';

/*
 * What the audit keeps of each event: its kind in a task's trajectory, one
 * line a person reads, the decision it carries (with reason, versions and
 * signer) and its cost. The data itself is kept whole beside it.
 */

export function usd(micros: number): string {
  return `$${(micros / 1_000_000).toFixed(6).replace(/0{1,4}$/, '')}`;
}

function clip(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

export function argumentsText(args: Record<string, unknown>): string {
  return clip(JSON.stringify(args), 500);
}

interface Described {
  readonly kind: AuditEntryKind;
  readonly summary: string;
  readonly agent?: string;
  readonly actionId?: string;
  readonly tool?: string;
  readonly decision?: AuditDecision;
  readonly versions?: AuditEntry['versions'];
  readonly costUsdMicros?: number;
}

export function describeEvent(event: AnyEnvelope): Described {
  switch (event.type) {
    case 'leash.tasks.requested.v1':
      return {
        kind: 'task',
        agent: event.data.agent,
        summary: `task requested for ${event.data.agent}${event.data.requestedBy ? ` by ${event.data.requestedBy}` : ''}: ${clip(event.data.input)}`,
      };
    case 'leash.actions.proposed.v1': {
      const d = event.data;
      return {
        kind: 'plan',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        versions: d.versions,
        summary: `step ${d.step}: propose ${d.tool} ${argumentsText(d.arguments)} because ${clip(d.reason)}`,
      };
    }
    case 'leash.actions.decided.v1': {
      const d = event.data;
      return {
        kind: 'decision',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        versions: d.versions,
        decision: {
          gate: 'policy',
          outcome: d.decision.route,
          route: d.decision.route,
          reason: d.decision.reason,
          policyId: d.decision.policyId,
          policyVersion: d.decision.policyVersion,
          signerKeyId: d.decision.signed.keyId,
        },
        summary: `policy ${d.decision.route} ${d.tool} (policy ${d.decision.policyId} v${d.decision.policyVersion}, key ${d.decision.signed.keyId}): ${clip(d.decision.reason)}`,
      };
    }
    case 'leash.actions.funded.v1': {
      const d = event.data;
      return {
        kind: 'decision',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        versions: d.versions,
        decision: {
          gate: 'budget',
          outcome: 'funded',
          route: d.decision.route,
          reservationId: d.grant.reservationId,
          signerKeyId: d.grant.signed.keyId,
          policyVersion: d.decision.policyVersion,
        },
        summary: `budget funded ${d.tool}: reserved ${usd(d.grant.reservedUsdMicros)} (reservation ${d.grant.reservationId}, key ${d.grant.signed.keyId}), route ${d.decision.route}`,
      };
    }
    case 'leash.actions.authorized.v1': {
      const d = event.data;
      return {
        kind: 'decision',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        versions: d.versions,
        decision: {
          gate: 'approvals',
          outcome: 'authorized',
          route: 'approve',
          approvalId: d.approval.approvalId,
          signerKeyId: d.approval.signed.keyId,
          policyVersion: d.decision.policyVersion,
        },
        summary: `approvals authorized ${d.tool} (approval ${d.approval.approvalId} by ${d.approval.reviewers.join(', ')}, key ${d.approval.signed.keyId})`,
      };
    }
    case 'leash.actions.rejected.v1': {
      const d = event.data;
      return {
        kind: 'decision',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        versions: d.versions,
        decision: {
          gate: d.gate,
          outcome: 'rejected',
          code: d.code,
          reason: d.reason,
          policyVersion: d.versions.policy,
          cap: d.cap,
        },
        summary: `${d.gate} rejected ${d.tool}: ${d.code}${d.cap ? ` (cap ${d.cap})` : ''}: ${clip(d.reason)}${d.feedback ? `; feedback: ${clip(d.feedback)}` : ''}`,
      };
    }
    case 'leash.actions.completed.v1': {
      const d = event.data;
      const result =
        d.status === 'succeeded'
          ? clip(d.output ?? '', 500)
          : `${d.error?.kind ?? 'error'}: ${clip(d.error?.message ?? '')}`;
      return {
        kind: 'observation',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        summary: `${d.tool} ${d.status} in ${Math.round(d.durationMs)} ms (${d.attempts} attempt${d.attempts === 1 ? '' : 's'}${d.replayed ? ', replayed' : ''}): ${result}`,
      };
    }
    case 'leash.approvals.requested.v1': {
      const d = event.data;
      return {
        kind: 'approval',
        agent: d.agent.name,
        actionId: d.actionId,
        tool: d.tool,
        decision: {
          gate: 'approvals',
          outcome: 'requested',
          route: 'approve',
          approvalId: d.approvalId,
          policyId: d.policy.policyId,
          policyVersion: d.policy.version,
        },
        summary: `approval ${d.approvalId} requested of ${d.reviewerGroup} (${d.reviewersRequired} needed) for ${d.tool} ${argumentsText(d.arguments)}, expires ${d.expiresAt}`,
      };
    }
    case 'leash.approvals.decided.v1': {
      const d = event.data;
      const words =
        d.verdict === 'reject'
          ? `: ${clip(d.feedback)}`
          : d.verdict === 'edit'
            ? ` to ${argumentsText(d.arguments)}`
            : d.comment
              ? `: ${clip(d.comment)}`
              : '';
      // What the reviewer sent; whether the gate counted it is the verdict_recorded event's.
      return {
        kind: 'approval',
        summary: `${d.reviewer} answered ${d.verdict} on approval ${d.approvalId}${words}`,
      };
    }
    case 'leash.approvals.verdict_recorded.v1': {
      const d = event.data;
      const what = `${d.reviewer}'s ${d.verdict} on approval ${d.approvalId}`;
      return {
        kind: 'approval',
        decision: {
          gate: 'approvals',
          outcome: d.outcome === 'refused' ? 'refused' : d.effect!,
          ...(d.refusal ? { code: d.refusal } : {}),
          reason: d.reason,
          approvalId: d.approvalId,
        },
        summary:
          d.outcome === 'refused'
            ? `approvals refused ${what} (${d.refusal}): ${clip(d.reason)}`
            : `approvals accepted ${what}: ${d.effect === 'counted' ? 'counted, more reviewers needed' : d.effect}${provenByText(d.provenBy)}`,
      };
    }
    case 'leash.budget.requested.v1': {
      const d = event.data;
      return d.kind === 'model'
        ? {
            kind: 'model',
            summary: `model call on ${d.model} asks budget for ~${d.estimate.inputTokens}+${d.estimate.outputTokens} tokens (request ${d.requestId})`,
          }
        : {
            kind: 'decision',
            actionId: d.actionId,
            tool: d.decided.tool,
            summary: `budget asked to fund ${d.decided.tool} (request ${d.requestId})`,
          };
    }
    case 'leash.budget.decided.v1': {
      const d = event.data;
      return {
        kind: d.kind === 'model' ? 'model' : 'decision',
        decision: {
          gate: 'budget',
          outcome: d.granted ? 'granted' : 'refused',
          reason: d.reason,
          cap: d.cap,
          reservationId: d.reservationId,
        },
        summary: d.granted
          ? `budget granted ${d.kind} request ${d.requestId}: reserved ${usd(d.reservedUsdMicros ?? 0)}`
          : `budget refused ${d.kind} request ${d.requestId}${d.cap ? ` (cap ${d.cap})` : ''}: ${clip(d.reason)}`,
      };
    }
    case 'leash.usage.recorded.v1': {
      const d = event.data;
      return {
        kind: 'usage',
        actionId: d.actionId,
        costUsdMicros: d.usdMicros,
        summary: `cost ${usd(d.usdMicros)} for ${d.kind === 'model' ? `model ${d.model ?? ''} (${d.inputTokens} in, ${d.outputTokens} out tokens)` : `tool action ${d.actionId ?? ''}`}`,
      };
    }
    case 'leash.budget.alarm.v1': {
      const d = event.data;
      return {
        kind: 'alarm',
        summary: `budget alarm: ${d.cap} at ${Math.round(d.fraction * 100)}% (${d.used} of ${d.limit} ${d.unit}) for ${d.scope} ${d.scopeKey}`,
      };
    }
    case 'leash.tasks.cost_alarm.v1': {
      const d = event.data;
      return {
        kind: 'alarm',
        agent: d.agent.name,
        summary: `cost ${d.action === 'stop' ? 'runaway stopped' : 'alarm'}: ${usd(d.costUsdMicros)}, ${d.multiple.toFixed(1)}x the typical ${d.agent.name} task (${usd(d.typicalUsdMicros)}, the median of ${d.sample}); alarm at ${d.alarmMultiple}x, stop at ${d.stopMultiple}x`,
      };
    }
    case 'leash.tasks.model_switched.v1': {
      const d = event.data;
      return {
        kind: 'model',
        agent: d.agent.name,
        summary: `model switched from ${d.from} to ${d.to} after ${usd(d.spentUsdMicros)} of the task's ${usd(d.budgetUsdMicros)} (fallback at ${Math.round(d.atBudgetFraction * 100)}%)`,
      };
    }
    case 'leash.budget.time_zone_changed.v1': {
      const d = event.data;
      return {
        kind: 'control',
        summary: `time zone of tenant ${event.tenantId ?? '?'} changed from ${d.from} to ${d.to} by ${d.changedBy}; day ${d.countingDay} (${d.from}) keeps counting until ${d.effectiveAt}`,
      };
    }
    case 'leash.tasks.finished.v1': {
      const d = event.data;
      return {
        kind: 'finish',
        agent: d.agent.name,
        versions: d.versions,
        costUsdMicros: d.cost.usdMicros,
        summary: `task ${d.status}: ${clip(d.reason)}; cost ${usd(d.cost.usdMicros)}, ${d.cost.inputTokens} in / ${d.cost.outputTokens} out tokens, ${d.cost.toolCalls} tool calls`,
      };
    }
    case 'leash.control.kill.v1':
    case 'leash.control.resume.v1': {
      const d = event.data;
      const verb = event.type === 'leash.control.kill.v1' ? 'kill' : 'resume';
      return {
        kind: 'control',
        summary: `${verb} ${d.commandId} (${JSON.stringify(d.scope)}) by ${d.issuedBy}: ${clip(d.reason)}`,
      };
    }
    case 'leash.control.ack.v1':
      return { kind: 'control', summary: `acknowledged: ${clip(JSON.stringify(event.data), 300)}` };
    case 'leash.releases.created.v1': {
      const d = event.data;
      return {
        kind: 'control',
        agent: d.agent,
        summary: `release ${d.agent}@${d.release} created by ${d.author}${d.parent ? ` from @${d.parent}` : ''}${signer(d.proof)}: prompt ${d.prompt.id} v${d.prompt.version}, policy ${d.policy.id} v${d.policy.version}, tools ${d.toolsVersion}; ${clip(d.description || 'no description')}`,
      };
    }
    case 'leash.releases.routed.v1': {
      const d = event.data;
      const canary = d.canary
        ? `, canary @${d.canary.release} at ${d.canary.percent}%`
        : ', no canary';
      return {
        kind: 'control',
        agent: d.agent,
        summary: `release ${d.change} of ${d.agent}@${d.release} by ${d.by}${d.change === 'auto-rollback' ? '' : signer(d.proof)}: current @${d.current}${canary}${d.moveRunning ? ', running tasks moved' : ''}; ${clip(d.reason)}`,
      };
    }
    default: {
      const unknown: { type: string } = event;
      return { kind: 'control', summary: unknown.type };
    }
  }
}

/** The audit entry of an event as it crossed the bus. */
export function auditEntryOf(
  topic: TopicName,
  event: AnyEnvelope,
  headers: Readonly<Record<string, string>>,
  recordedAt: string,
): AuditEntry {
  const described = describeEvent(event);
  const release = releaseOf(event);
  return {
    entryId: event.id,
    taskId: event.taskId ?? null,
    tenantId: event.tenantId ?? null,
    type: event.type,
    topic,
    source: event.source,
    time: event.time,
    recordedAt,
    data: event.data,
    ...(headers.traceparent ? { traceparent: headers.traceparent } : {}),
    ...(release !== undefined ? { release } : {}),
    ...withoutUndefined(described),
  };
}

/** The release an event names: its agent reference's version, a pinned task's, or a release event's own. */
function releaseOf(event: AnyEnvelope): number | undefined {
  const data = event.data as { agent?: unknown; agentVersion?: unknown; release?: unknown };
  const agent = data.agent as { version?: unknown } | undefined;
  const version =
    agent !== null && typeof agent === 'object'
      ? agent.version
      : (data.agentVersion ?? data.release);
  return typeof version === 'number' ? version : undefined;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

export function isKnownType(type: string): boolean {
  return Object.prototype.hasOwnProperty.call(EVENTS, type);
}

/** Who proved a verdict's reviewer, for the audit line. */
function provenByText(provenBy: { by: string; keyId: string; frontEnd?: string } | undefined) {
  if (!provenBy) return '';
  return provenBy.by === 'front_end'
    ? ` (vouched for by front end ${provenBy.frontEnd}, key ${provenBy.keyId})`
    : ` (signed with the reviewer's key ${provenBy.keyId})`;
}

/** Whose key a release event names (checked by the services that apply it, not here). */
function signer(proof: { readonly keyId: string } | undefined): string {
  return proof
    ? ` (signed with operator key ${proof.keyId})`
    : ' (unsigned: every service refuses it)';
}
