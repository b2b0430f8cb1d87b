import { createEnvelope, type ApprovalRequestedV1, type Envelope } from '@leash/contracts';

/** What a reviewer answers. */
export type Verdict =
  | { readonly verdict: 'approve'; readonly comment?: string }
  /** The feedback reaches the planner as an observation. */
  | { readonly verdict: 'reject'; readonly feedback: string }
  /** The edited arguments are proposed again as a new action, and pass policy and budget again. */
  | {
      readonly verdict: 'edit';
      readonly arguments: Record<string, unknown>;
      readonly comment?: string;
    };

/** What a verdict must name: the request, the exact action it is about, and where it lives. */
export interface ApprovalRef {
  readonly approvalId: string;
  /** From the request; a verdict bound to any other hash is refused. */
  readonly actionHash: string;
  readonly tenantId: string;
  readonly taskId: string;
}

/** An approval request as a reviewer's process receives it. */
export type ApprovalRequest = ApprovalRequestedV1 &
  ApprovalRef & {
    /** The approvals.requested event's id. */
    readonly eventId: string;
  };

export function toApprovalRequest(
  event: Envelope<'leash.approvals.requested.v1'>,
): ApprovalRequest | undefined {
  // Requests are keyed by task and scoped to a tenant; one without either cannot be answered.
  if (!event.tenantId || !event.taskId) return undefined;
  return { ...event.data, tenantId: event.tenantId, taskId: event.taskId, eventId: event.id };
}

export interface VerdictOptions {
  /** The verdict's event id; the service ignores a second event with the same id. Default: random. */
  readonly id?: string;
  readonly source: string;
}

/** The approvals.decided event of a verdict. Throws EventValidationError on an invalid verdict. */
export function verdictEvent(
  ref: ApprovalRef,
  reviewer: string,
  verdict: Verdict,
  options: VerdictOptions,
): Envelope<'leash.approvals.decided.v1'> {
  const common = { approvalId: ref.approvalId, actionHash: ref.actionHash, reviewer };
  const attributes = {
    source: options.source,
    tenantId: ref.tenantId,
    taskId: ref.taskId,
    ...(options.id !== undefined ? { id: options.id } : {}),
  };
  switch (verdict.verdict) {
    case 'approve':
      return createEnvelope(
        'leash.approvals.decided.v1',
        {
          ...common,
          verdict: 'approve',
          ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
        },
        attributes,
      );
    case 'reject':
      return createEnvelope(
        'leash.approvals.decided.v1',
        { ...common, verdict: 'reject', feedback: verdict.feedback },
        attributes,
      );
    case 'edit':
      return createEnvelope(
        'leash.approvals.decided.v1',
        {
          ...common,
          verdict: 'edit',
          arguments: verdict.arguments,
          ...(verdict.comment !== undefined ? { comment: verdict.comment } : {}),
        },
        attributes,
      );
  }
}
