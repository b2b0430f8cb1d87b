import {
  ROOT_CONTEXT,
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
} from '@opentelemetry/api';
import type { TracingConfig } from '@leash/config';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { LEASH } from './attributes';
import { isTaskRoot } from './tracing';

const KEEP: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED };

/*
 * Which spans are recorded: the sampler OTEL_TRACES_SAMPLER names (the SDK's
 * own), with two rules of Leash's around it.
 *
 * - A span under a task's derived root (taskTraceContext: the parent of a
 *   task's spans when no trace context came with its event) is sampled as a
 *   root span is, from its trace id. That id is derived from the task id, so
 *   every service, each with a sampler of its own, decides the same for a task:
 *   all of its spans or none. The root's own flag, which says sampled, is no
 *   decision anyone made.
 * - A span that starts with `leash.trace.kept` (an error, a denial or an
 *   escalation in a trace left out, see keepSpan) is always recorded.
 */
export class LeashSampler implements Sampler {
  constructor(
    private readonly sampler: Sampler,
    /** What decides a root span. */
    private readonly root: Sampler,
  ) {}

  shouldSample(
    context: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (attributes[LEASH.kept] !== undefined) return KEEP;
    if (isTaskRoot(context)) {
      return this.root.shouldSample(ROOT_CONTEXT, traceId, name, kind, attributes, links);
    }
    return this.sampler.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `LeashSampler{${this.sampler.toString()}}`;
  }
}

/** The sampler of a parsed OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. */
export function leashSampler(config: TracingConfig): LeashSampler {
  const ratio = config.OTEL_TRACES_SAMPLER_ARG ?? 1;
  switch (config.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return plain(new AlwaysOnSampler());
    case 'always_off':
      return plain(new AlwaysOffSampler());
    case 'traceidratio':
      return plain(new TraceIdRatioBasedSampler(ratio));
    case 'parentbased_always_on':
      return parentBased(new AlwaysOnSampler());
    case 'parentbased_always_off':
      return parentBased(new AlwaysOffSampler());
    case 'parentbased_traceidratio':
      return parentBased(new TraceIdRatioBasedSampler(ratio));
  }
}

function plain(sampler: Sampler): LeashSampler {
  return new LeashSampler(sampler, sampler);
}

function parentBased(root: Sampler): LeashSampler {
  return new LeashSampler(new ParentBasedSampler({ root }), root);
}
