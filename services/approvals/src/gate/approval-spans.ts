import { context, trace, type Attributes, type Link } from '@opentelemetry/api';
import { approvalAnchorKey, recallTraceAnchor, rememberTraceAnchor } from '@leash/audit';
import type { Envelope } from '@leash/contracts';
import type { Store } from '@leash/store';
import { LEASH, gateSpan, spanContextFromTraceparent, traceHeaders } from '@leash/telemetry';
import type { RequestApprovalOutcome } from '../request-approval/request-approval.usecase';
import type { RecordVerdictOutcome } from '../record-verdict/record-verdict.usecase';
import { approvalRequests } from './approvals.aggregates';

/*
 * The approval gate's spans. A wait of hours is not one open span: the
 * request is a span that ends once reviewers are asked, and its context is
 * kept (a trace anchor) for the verdict, whose span continues the task's
 * trace from it and links the reviewer's own delivery; the delivery's
 * process span links back to the request.
 */

/** Puts a funded action to reviewers in a `leash.approvals.request` span, and anchors it. */
export function tracedRequestApproval(
  store: Store,
  event: Envelope<'leash.actions.funded.v1'>,
  request: () => Promise<RequestApprovalOutcome>,
): Promise<RequestApprovalOutcome> {
  return gateSpan('approvals', 'request', event, async (span) => {
    const outcome = await request();
    span.setAttribute(LEASH.decision, outcome);
    if (outcome === 'requested' && event.tenantId) {
      await rememberTraceAnchor(
        store,
        approvalAnchorKey(event.tenantId, event.data.actionId),
        traceHeaders(),
      ).catch(() => undefined);
    }
    return outcome;
  });
}

/** Records a verdict in a `leash.approvals.verdict` span placed in the request's trace. */
export async function tracedRecordVerdict(
  store: Store,
  event: Envelope<'leash.approvals.decided.v1'>,
  record: () => Promise<RecordVerdictOutcome>,
  now: () => number = Date.now,
): Promise<RecordVerdictOutcome> {
  const request = await store
    .repository(approvalRequests)
    .get(event.data.approvalId)
    .catch(() => undefined);
  const anchor = request
    ? await recallTraceAnchor(
        store,
        approvalAnchorKey(request.doc.tenantId, request.doc.actionId),
      ).catch(() => undefined)
    : undefined;
  const requested = spanContextFromTraceparent(anchor?.traceparent);
  const delivery = trace.getSpan(context.active());
  if (requested)
    delivery?.addLink({ context: requested, attributes: { [LEASH.linkKind]: 'approval.request' } });
  const links: Link[] = [];
  if (delivery) {
    links.push({
      context: delivery.spanContext(),
      attributes: { [LEASH.linkKind]: 'approval.verdict.delivery' },
    });
  }
  const attributes: Attributes = {
    [LEASH.approvalId]: event.data.approvalId,
    'leash.approval.verdict': event.data.verdict,
    'leash.approval.reviewer': event.data.reviewer,
    // What the sender offered as proof of the reviewer; whether it held is the outcome's.
    'leash.approval.proof': event.data.proof?.by ?? 'none',
  };
  if (request) {
    attributes[LEASH.approvalWaitMs] = Math.max(0, now() - Date.parse(request.doc.requestedAt));
  }
  return gateSpan(
    'approvals',
    'verdict',
    event,
    async (span) => {
      const outcome = await record();
      span.setAttribute('leash.approval.outcome', outcome.outcome);
      if (outcome.outcome === 'refused') {
        span.setAttribute('leash.approval.refusal', outcome.refusal);
      }
      return outcome;
    },
    {
      links,
      attributes,
      parent: requested ? trace.setSpanContext(context.active(), requested) : undefined,
    },
  );
}
