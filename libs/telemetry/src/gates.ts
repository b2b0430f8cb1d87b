import {
  SpanKind,
  context,
  trace,
  type Attributes,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { LEASH, eventAttributes, type EventLike } from './attributes';
import { leashMetrics } from './metrics';
import { inSpan, keepSpan, type KeptReason } from './tracing';

/*
 * Gate spans in the `leash.*` namespace: `leash.<gate>.<operation>` around
 * the use case a consumer hands an event to. What the gate decided is read
 * from the events it enqueues (see `recordOutcome`), so the span and the
 * `leash_actions_total` counter say the same thing whatever the use case
 * returns.
 */

export type GateName = 'policy' | 'budget' | 'approvals' | 'executor' | 'planner';

export interface GateSpanOptions {
  readonly links?: Link[];
  readonly attributes?: Attributes;
  readonly parent?: Parameters<typeof inSpan>[1]['parent'];
}

/** Runs a gate's handling of one event in a `leash.<gate>.<operation>` span and times it. */
export async function gateSpan<T>(
  gate: GateName,
  operation: string,
  event: EventLike,
  work: (span: Span) => Promise<T>,
  options: GateSpanOptions = {},
): Promise<T> {
  const started = performance.now();
  try {
    return await inSpan(
      `leash.${gate}.${operation}`,
      {
        kind: SpanKind.INTERNAL,
        // The service picks the span's resource; the rest only a recorded span needs.
        attributes: { [LEASH.gate]: gate, [LEASH.service]: gate },
        detail: () => ({ ...eventAttributes(event), ...options.attributes }),
        links: options.links,
        parent: options.parent,
      },
      work,
    );
  } finally {
    leashMetrics().gateDuration.observe({ gate, operation }, (performance.now() - started) / 1000);
  }
}

export interface Outcome {
  readonly gate: string;
  readonly route: string;
  readonly decision: string;
  readonly attributes: Attributes;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function compact(attributes: Record<string, string | number | boolean | undefined>): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(attributes))
    if (value !== undefined) out[name] = value;
  return out;
}

/** What an event a gate emits says about its decision; undefined for events that decide nothing. */
export function outcomeOf(event: EventLike): Outcome | undefined {
  const data = record(event.data);
  const decision = record(data.decision);
  const signed = record(decision.signed);
  const grant = record(data.grant);
  const policy = compact({
    [LEASH.route]: str(decision.route),
    [LEASH.policyId]: str(decision.policyId),
    [LEASH.policyVersion]: num(decision.policyVersion),
    [LEASH.reason]: str(decision.reason)?.slice(0, 500),
    [LEASH.signerKeyId]: str(signed.keyId),
  });
  switch (event.type) {
    case 'leash.actions.decided.v1':
      return {
        gate: 'policy',
        route: str(decision.route) ?? '',
        decision: str(decision.route) ?? 'allow',
        attributes: { ...policy, [LEASH.decision]: str(decision.route) ?? 'allow' },
      };
    case 'leash.actions.funded.v1':
      return {
        gate: 'budget',
        route: str(decision.route) ?? '',
        decision: 'funded',
        attributes: {
          ...policy,
          ...compact({
            [LEASH.decision]: 'funded',
            [LEASH.reservationId]: str(grant.reservationId),
            [LEASH.reservedUsdMicros]: num(grant.reservedUsdMicros),
            [LEASH.signerKeyId]: str(record(grant.signed).keyId),
          }),
        },
      };
    case 'leash.actions.authorized.v1': {
      const approval = record(data.approval);
      const reviewers = Array.isArray(approval.reviewers) ? approval.reviewers.map(String) : [];
      return {
        gate: 'approvals',
        route: 'approve',
        decision: 'authorized',
        attributes: {
          ...compact({
            [LEASH.decision]: 'authorized',
            [LEASH.approvalId]: str(approval.approvalId),
            [LEASH.signerKeyId]: str(record(approval.signed).keyId),
          }),
          [LEASH.reviewers]: reviewers,
        },
      };
    }
    case 'leash.approvals.requested.v1':
      return {
        gate: 'approvals',
        route: 'approve',
        decision: 'requested',
        attributes: compact({
          [LEASH.decision]: 'requested',
          [LEASH.approvalId]: str(data.approvalId),
          [LEASH.policyVersion]: num(record(data.policy).version),
        }),
      };
    case 'leash.actions.rejected.v1':
      return {
        gate: str(data.gate) ?? 'unknown',
        route: '',
        decision: 'rejected',
        attributes: compact({
          [LEASH.decision]: 'rejected',
          [LEASH.rejectionCode]: str(data.code),
          [LEASH.reason]: str(data.reason)?.slice(0, 500),
          [LEASH.budgetCap]: str(data.cap),
          [LEASH.policyVersion]: num(record(data.versions).policy),
        }),
      };
    case 'leash.budget.decided.v1':
      return {
        gate: 'budget',
        route: str(data.kind) ?? '',
        decision: data.granted === true ? 'granted' : 'refused',
        attributes: compact({
          [LEASH.decision]: data.granted === true ? 'granted' : 'refused',
          [LEASH.budgetGranted]: data.granted === true,
          [LEASH.reservationId]: str(data.reservationId),
          [LEASH.reservedUsdMicros]: num(data.reservedUsdMicros),
          [LEASH.budgetCap]: str(data.cap),
          [LEASH.reason]: str(data.reason)?.slice(0, 500),
        }),
      };
    case 'leash.actions.completed.v1':
      return {
        gate: 'executor',
        route: '',
        decision: str(data.status) ?? 'unknown',
        attributes: compact({ [LEASH.decision]: str(data.status) }),
      };
    default:
      return undefined;
  }
}

/**
 * Notes a gate's decision, read from an event it is about to emit: as
 * attributes of the active span and in `leash_actions_total`.
 */
export function recordOutcome(event: EventLike): void {
  const outcome = outcomeOf(event);
  const span = trace.getSpan(context.active());
  if (span !== undefined && !span.isRecording()) {
    // A span of an unsampled task is kept when what it decided must never go unseen.
    const reason = keptReasonOf(event, outcome);
    if (reason)
      keepSpan(span, reason, { [LEASH.eventType]: event.type ?? '', ...outcome?.attributes });
  }
  if (!outcome) return;
  leashMetrics().actions.inc({
    gate: outcome.gate,
    route: outcome.route,
    decision: outcome.decision,
  });
  if (span?.isRecording()) {
    span.setAttributes(outcome.attributes);
    span.addEvent('leash.outcome', { [LEASH.eventType]: event.type ?? '', ...outcome.attributes });
  }
}

/**
 * Whether an event a gate emits makes its span one to keep in any trace: a
 * denial (a rejected action, a refused budget), an escalation to a person (an
 * action routed to approval, a task ended escalated), or a failed action.
 */
export function keptReasonOf(
  event: EventLike,
  outcome: Outcome | undefined = outcomeOf(event),
): KeptReason | undefined {
  if (event.type === 'leash.tasks.finished.v1') {
    return record(event.data).status === 'escalated' ? 'escalation' : undefined;
  }
  switch (outcome?.decision) {
    case 'rejected':
    case 'refused':
      return 'denial';
    case 'approve':
    case 'requested':
      return 'escalation';
    case 'failed':
      return 'error';
    default:
      return undefined;
  }
}
