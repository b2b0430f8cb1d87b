import { z } from 'zod';
import { defineAggregate, type Store } from '@leash/store';

/*
 * Span contexts kept for a later, separate span to link to. An approval can
 * wait for hours: its request and its verdict are two short spans, and the
 * verdict's finds the request's here (one open span for the wait would never
 * reach a trace viewer if the process restarted, and reads as a hang).
 */
export const TraceAnchor = z.object({
  key: z.string().min(1),
  traceparent: z.string().min(1),
  tracestate: z.string().optional(),
  at: z.string().min(1),
});
export type TraceAnchor = z.infer<typeof TraceAnchor>;

export const traceAnchors = defineAggregate({
  name: 'audit_trace_anchors',
  schema: TraceAnchor,
  id: (doc) => doc.key,
});

/** The key of an approval request's anchor: one per action, whatever stage of the chain. */
export function approvalAnchorKey(tenantId: string, actionId: string): string {
  return `approval:${JSON.stringify([tenantId, actionId])}`;
}

/** Keeps the first span context recorded under a key; a redelivery does not move it. */
export async function rememberTraceAnchor(
  store: Store,
  key: string,
  headers: Readonly<Record<string, string>>,
  at: Date = new Date(),
): Promise<void> {
  if (!headers.traceparent) return;
  const anchors = store.repository(traceAnchors);
  if (await anchors.get(key)) return;
  await anchors.upsert({
    key,
    traceparent: headers.traceparent,
    ...(headers.tracestate ? { tracestate: headers.tracestate } : {}),
    at: at.toISOString(),
  });
}

export async function recallTraceAnchor(
  store: Store,
  key: string,
): Promise<TraceAnchor | undefined> {
  return (await store.repository(traceAnchors).get(key))?.doc;
}
