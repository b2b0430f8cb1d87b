import type { Attributes } from '@opentelemetry/api';

/*
 * Span attributes of Leash's own namespace. OpenTelemetry has conventions for
 * messaging and GenAI (used as its constants); gates, tasks and versions are
 * ours. Names never change once shipped: dashboards and saved queries use them.
 */
export const LEASH = {
  /** The service a span works for; set at the span's start, it also picks its resource's service.name. */
  service: 'leash.service',
  taskId: 'leash.task.id',
  tenantId: 'leash.tenant.id',
  agentName: 'leash.agent.name',
  agentVersion: 'leash.agent.version',
  profileVersion: 'leash.version.profile',
  promptVersion: 'leash.version.prompt',
  modelVersion: 'leash.version.model',
  toolsVersion: 'leash.version.tools',
  policyVersion: 'leash.policy.version',
  policyId: 'leash.policy.id',
  actionId: 'leash.action.id',
  tool: 'leash.tool',
  eventType: 'leash.event.type',
  attempt: 'leash.delivery.attempt',
  gate: 'leash.gate',
  /** allow, approve, deny, funded, refused, authorized, rejected, succeeded, failed. */
  decision: 'leash.decision',
  route: 'leash.route',
  reason: 'leash.reason',
  rejectionCode: 'leash.rejection.code',
  signerKeyId: 'leash.signer.key_id',
  reservationId: 'leash.reservation.id',
  reservedUsdMicros: 'leash.reservation.usd_micros',
  budgetGranted: 'leash.budget.granted',
  /** The cap that bound a budget refusal. */
  budgetCap: 'leash.budget.cap',
  approvalId: 'leash.approval.id',
  approvalWaitMs: 'leash.approval.wait_ms',
  reviewers: 'leash.approval.reviewers',
  linkKind: 'leash.link.kind',
  /**
   * Why a span of an unsampled trace was recorded all the same: error, denial or
   * escalation. Set at the span's start; the sampler keeps every span that has it.
   */
  kept: 'leash.trace.kept',
} as const;

/** The envelope fields telemetry reads; any event of @leash/contracts has them. */
export interface EventLike {
  readonly id?: string;
  readonly type?: string;
  readonly source?: string;
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly data?: unknown;
}

/** Who a span works for: what every span of a task carries, where known. */
export interface TaskRef {
  readonly taskId?: string;
  readonly tenantId?: string;
  readonly agent?: string;
  readonly agentVersion?: number;
  readonly versions?: VersionsLike;
}

export interface VersionsLike {
  readonly profile?: number;
  readonly prompt?: string;
  readonly model?: string;
  readonly tools?: string;
  readonly policy?: number;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Task id, tenant, agent and versions from an event, as far as its type carries them. */
export function taskRefOf(event: EventLike): TaskRef {
  const data = record(event.data);
  const agent = data?.agent;
  const agentRef = record(agent);
  const versions = record(data?.versions) as VersionsLike | undefined;
  const decision = record(data?.decision);
  const policyVersion =
    versions?.policy ??
    (typeof decision?.policyVersion === 'number' ? decision.policyVersion : undefined);
  return {
    taskId: event.taskId ?? (typeof data?.taskId === 'string' ? data.taskId : undefined),
    tenantId: event.tenantId,
    agent:
      typeof agent === 'string'
        ? agent
        : typeof agentRef?.name === 'string'
          ? agentRef.name
          : undefined,
    agentVersion:
      typeof agentRef?.version === 'number'
        ? agentRef.version
        : typeof data?.agentVersion === 'number'
          ? data.agentVersion
          : undefined,
    versions:
      versions || policyVersion !== undefined ? { ...versions, policy: policyVersion } : undefined,
  };
}

/** The span attributes of a task reference; absent fields are left out, never set empty. */
export function taskAttributes(task: TaskRef): Attributes {
  const attributes: Attributes = {};
  if (task.taskId) attributes[LEASH.taskId] = task.taskId;
  if (task.tenantId) attributes[LEASH.tenantId] = task.tenantId;
  if (task.agent) attributes[LEASH.agentName] = task.agent;
  if (task.agentVersion !== undefined) attributes[LEASH.agentVersion] = task.agentVersion;
  const versions = task.versions;
  if (versions) {
    if (versions.profile !== undefined) attributes[LEASH.profileVersion] = versions.profile;
    if (versions.prompt) attributes[LEASH.promptVersion] = versions.prompt;
    if (versions.model) attributes[LEASH.modelVersion] = versions.model;
    if (versions.tools) attributes[LEASH.toolsVersion] = versions.tools;
    if (versions.policy !== undefined) attributes[LEASH.policyVersion] = versions.policy;
  }
  return attributes;
}

/** Task attributes of an event plus its type and, for action events, the action id. */
export function eventAttributes(event: EventLike): Attributes {
  const attributes = taskAttributes(taskRefOf(event));
  if (event.type) attributes[LEASH.eventType] = event.type;
  const data = record(event.data);
  if (typeof data?.actionId === 'string') attributes[LEASH.actionId] = data.actionId;
  if (typeof data?.tool === 'string') attributes[LEASH.tool] = data.tool;
  return attributes;
}
