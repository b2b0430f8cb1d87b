import type { Envelope } from '@leash/contracts';

/** A proposal to decide, with the headers it arrived with. */
export interface DecideActionCommand {
  readonly event: Envelope<'leash.actions.proposed.v1'>;
  /** Trace context to publish the decision with, so one trace spans the hops. */
  readonly headers: Readonly<Record<string, string>>;
}

const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'];

export function decideActionCommand(
  event: Envelope<'leash.actions.proposed.v1'>,
  deliveryHeaders: Readonly<Record<string, string>> = {},
): DecideActionCommand {
  const headers: Record<string, string> = {};
  for (const name of TRACE_HEADERS) {
    const value = deliveryHeaders[name];
    if (value !== undefined) headers[name] = value;
  }
  return { event, headers };
}
