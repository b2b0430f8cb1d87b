import { createHash } from 'node:crypto';
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import { LEASH } from './attributes';

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
  /**
   * Attributes built only for a span that is recorded (or kept): what the
   * sampler does not need. `attributes` are given at the start.
   */
  readonly detail?: () => Attributes;
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
  const span = startSpan(name, options, parent, options.detail);
  try {
    return await context.with(trace.setSpan(parent, span), work, undefined, span);
  } catch (error) {
    markFailed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Starts a span; `detail` adds what only a recorded span needs. A span the
 * sampler does not record remembers how to be recorded, for the rare hop that
 * turns out to matter (see `keepSpan`).
 */
export function startSpan(
  name: string,
  options: SpanOptions,
  parent: Context,
  detail?: () => Attributes,
): Span {
  const skipped = unsampledChild(options, parent);
  if (skipped)
    return new UnsampledSpan(trace.wrapSpanContext(skipped), name, options, parent, detail);
  const span = leashTracer().startSpan(name, options, parent);
  if (span.isRecording()) {
    if (detail) span.setAttributes(detail());
    return span;
  }
  // Without an exporter nothing is ever recorded, kept or not.
  return deriveTaskTraces ? new UnsampledSpan(span, name, options, parent, detail) : span;
}

/** Why a span of an unsampled trace is recorded all the same. */
export type KeptReason = 'error' | 'denial' | 'escalation';

/**
 * Keeps a span that its trace's sampling left out: once it ends, a span of the
 * same name, parent, start and attributes is recorded in its place, marked
 * `leash.trace.kept` (which the sampler always keeps), with `attributes` and the
 * error if any. Its trace id is the task's, so it is found by task. A no-op for a
 * recorded span (its trace is kept anyway) and for spans not started by Leash.
 */
export function keepSpan(
  span: Span,
  reason: KeptReason,
  attributes: Attributes = {},
  error?: unknown,
): void {
  if (span instanceof UnsampledSpan) span.keep(reason, attributes, error);
}

/** Records an exception on a span and sets its status to error; an unsampled span is kept. */
export function markFailed(span: Span, error: unknown): void {
  if (!span.isRecording()) {
    keepSpan(span, 'error', {}, error);
    return;
  }
  recordFailure(span, error);
}

function recordFailure(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * A span the sampler did not record, as the SDK's non-recording span (its
 * context, flags unsampled, goes on in headers) plus what it takes to record
 * it after all. Only the start time is taken per span; the rest is built when
 * it is kept.
 */
class UnsampledSpan implements Span {
  private readonly started = performance.now();
  private kept: { reason: KeptReason; attributes: Attributes; error?: unknown } | undefined;

  constructor(
    private readonly span: Span,
    private readonly name: string,
    private readonly options: SpanOptions,
    private readonly parent: Context,
    private readonly detail: (() => Attributes) | undefined,
  ) {}

  keep(reason: KeptReason, attributes: Attributes, error: unknown): void {
    if (!this.kept) {
      this.kept = { reason, attributes, error };
      return;
    }
    // An error says most: it wins over a denial or an escalation on the same span.
    this.kept = {
      reason: error !== undefined ? 'error' : this.kept.reason,
      attributes: { ...this.kept.attributes, ...attributes },
      error: error ?? this.kept.error,
    };
  }

  end(endTime?: TimeInput): void {
    const kept = this.kept;
    if (!kept) return;
    this.kept = undefined;
    const span = leashTracer().startSpan(
      this.name,
      {
        kind: this.options.kind,
        links: this.options.links,
        // A number below the time origin is read as performance.now() time.
        startTime: this.started,
        attributes: {
          ...this.detail?.(),
          ...this.options.attributes,
          ...kept.attributes,
          [LEASH.kept]: kept.reason,
        },
      },
      this.parent,
    );
    if (kept.error !== undefined) recordFailure(span, kept.error);
    span.end(endTime);
  }

  spanContext(): SpanContext {
    return this.span.spanContext();
  }
  isRecording(): boolean {
    return false;
  }
  setAttribute(_key: string, _value: AttributeValue): this {
    return this;
  }
  setAttributes(_attributes: Attributes): this {
    return this;
  }
  addEvent(_name: string, _attributes?: Attributes | TimeInput, _time?: TimeInput): this {
    return this;
  }
  addLink(_link: Link): this {
    return this;
  }
  addLinks(_links: Link[]): this {
    return this;
  }
  setStatus(_status: SpanStatus): this {
    return this;
  }
  updateName(_name: string): this {
    return this;
  }
  recordException(_exception: Exception, _time?: TimeInput): void {}
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

// Set where spans are exported under a parent-based sampler (OTEL_TRACES_SAMPLER=parentbased_*).
let parentsDecide = false;

/**
 * Tells startSpan that the sampler records no span under a parent that was
 * not sampled (the parent-based samplers), so it may skip the SDK for one.
 */
export function unsampledParentsDecide(on: boolean): void {
  parentsDecide = on;
}

/**
 * The span context for a span the sampler would not record, without asking
 * it: under a parent-based sampler, a child of a parent that was not sampled
 * (and is no task's derived root, which the sampler decides by trace id), not
 * marked kept. The unsampled path then never enters the SDK: in a trace left
 * out it costs no sampler call, no span id, no SDK span. It takes its
 * parent's context, so the trace goes on unsampled in headers. Undefined when
 * the SDK must decide.
 */
function unsampledChild(options: SpanOptions, parent: Context): SpanContext | undefined {
  if (!parentsDecide || options.attributes?.[LEASH.kept] !== undefined) return undefined;
  const parentContext = trace.getSpanContext(parent);
  if (parentContext === undefined || parentContext.traceFlags & TraceFlags.SAMPLED) {
    return undefined;
  }
  if (!isSpanContextValid(parentContext) || isTaskRoot(parent)) return undefined;
  return parentContext;
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

/** The span contexts of tasks' derived roots (see isTaskRoot); held no longer than their contexts. */
const taskRoots = new WeakSet<SpanContext>();

/**
 * The parent of a task's spans when its events carry no trace context (an
 * upstream system that does not trace): a remote span context derived from
 * the task id, so every hop of the task still lands in one trace. Its span is
 * never exported; trace viewers show it as the task's missing root.
 */
export function taskTraceContext(taskId: string, base: Context = ROOT_CONTEXT): Context {
  if (!deriveTaskTraces) return base;
  const digest = createHash('sha256').update(`leash.task:${taskId}`).digest('hex');
  const spanContext: SpanContext = {
    traceId: digest.slice(0, 32),
    spanId: digest.slice(32, 48),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  };
  taskRoots.add(spanContext);
  return trace.setSpanContext(base, spanContext);
}

/**
 * True when the context's span is a task's derived root (taskTraceContext): no
 * span anyone sampled, so a span under it is sampled as a root span is, from
 * its trace id, and every service decides the same for the task.
 */
export function isTaskRoot(ctx: Context): boolean {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && taskRoots.has(spanContext);
}

/** True when the context holds a usable span context (local or remote). */
export function hasSpanContext(ctx: Context): boolean {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext !== undefined && isSpanContextValid(spanContext);
}
