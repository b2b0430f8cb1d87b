import { createHash } from 'node:crypto';
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';

export const TRACER_NAME = 'leash';

/** One tracer for all of Leash: the instrumentation scope is the product, spans say their service. */
export function leashTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The W3C trace headers (traceparent, tracestate) of a context; empty when it holds no span. */
export function traceHeaders(from: Context = context.active()): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(from, headers);
  return headers;
}

/** The context a set of message headers carries, rooted anew (never the caller's). */
export function contextFromHeaders(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** The span context in a set of headers, for a link; undefined when there is none. */
export function spanContextFromHeaders(
  headers: Readonly<Record<string, string>>,
): SpanContext | undefined {
  const found = trace.getSpanContext(contextFromHeaders(headers));
  return found && isSpanContextValid(found) ? found : undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a stored `traceparent` into a remote span context (for links and late parents). */
export function spanContextFromTraceparent(
  traceparent: string | undefined,
): SpanContext | undefined {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

export function traceparentOf(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

export interface InSpanOptions extends SpanOptions {
  /** The parent; default the active context. */
  readonly parent?: Context;
  readonly links?: Link[];
}

/**
 * Runs `work` inside a new active span and ends it, marking it as an error
 * (with the exception recorded) when `work` throws. The error is rethrown.
 */
export async function inSpan<T>(
  name: string,
  options: InSpanOptions,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = leashTracer().startSpan(name, options, parent);
  try {
    return await context.with(trace.setSpan(parent, span), work, undefined, span);
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Records an exception on a span and sets its status to error. */
export function markFailed(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** The W3C ids of the active span, for log lines; undefined outside any span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

// Only where spans are exported (startTelemetry with an endpoint): elsewhere an event
// without trace context stays without one.
let deriveTaskTraces = false;

/** Turns on task-derived traces; startTelemetry does when it exports spans. */
export function deriveTracesFromTasks(on: boolean): void {
  deriveTaskTraces = on;
}

/** True when this process exports spans (startTelemetry with an exporter): worth building links for. */
export function spansExported(): boolean {
  return deriveTaskTraces;
}

/**
 * The context of a message for a link: the one in its headers, else (for a
 * task's event, where spans are exported) the task's derived trace.
 */
export function messageSpanContext(
  headers: Readonly<Record<string, string>>,
  taskId: string | undefined,
): SpanContext | undefined {
  const carried = spanContextFromHeaders(headers);
  if (carried || taskId === undefined || !deriveTaskTraces) return carried;
  return trace.getSpanContext(taskTraceContext(taskId));
}

/**
 * The parent of a task's spans when its events carry no trace context (an
 * upstream system that does not trace): a remote span context derived from
 * the task id, so every hop of the task still lands in one trace. Its span is
 * never exported; trace viewers show it as the task's missing root.
 */
export function taskTraceContext(taskId: string, base: Context = ROOT_CONTEXT): Context {
  if (!deriveTaskTraces) return base;
  const digest = createHash('sha256').update(`leash.task:${taskId}`).digest('hex');
  return trace.setSpanContext(base, {
    traceId: digest.slice(0, 32),
    spanId: digest.slice(32, 48),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** True when the context holds a usable span context (local or remote). */
export function hasSpanContext(ctx: Context): boolean {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && isSpanContextValid(spanContext);
}
