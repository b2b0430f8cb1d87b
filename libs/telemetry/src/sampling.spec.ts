import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  propagation,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ConfigError, TRACING_ENV, loadConfig } from '@leash/config';
import { LEASH } from './attributes';
import { gateSpan, recordOutcome } from './gates';
import { startProcessSpan } from './messaging';
import { leashSampler } from './sampling';
import { startTelemetry } from './sdk';
import {
  deriveTracesFromTasks,
  inSpan,
  markFailed,
  taskTraceContext,
  unsampledParentsDecide,
} from './tracing';

function sampler(env: Record<string, string>) {
  return leashSampler(loadConfig(TRACING_ENV, { env }));
}

/** Expects the tracing variables to be refused at start-up with `message` (a ConfigError). */
function expectRefused(env: Record<string, string>, message: string): void {
  const load = () => loadConfig(TRACING_ENV, { env, subject: 'policy' });
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(message);
}

/** A remote parent with the given sampled flag. */
function remoteParent(sampled: boolean): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

const TASKS = Array.from({ length: 400 }, (_, i) => `task-${i}`);

describe('OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG', () => {
  it('default to parentbased_always_on, with no ratio', () => {
    expect(loadConfig(TRACING_ENV, { env: {} })).toEqual({
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    });
    expect(
      loadConfig(TRACING_ENV, {
        env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
      }),
    ).toEqual({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.1 });
    for (const ratio of ['0', '1', '1.0', '.25', '0.5'])
      expect(loadConfig(TRACING_ENV, { env: { OTEL_TRACES_SAMPLER_ARG: ratio } })).toMatchObject({
        OTEL_TRACES_SAMPLER_ARG: Number(ratio),
      });
  });

  it('reject an unknown sampler, naming the variable and what it takes', () => {
    expectRefused(
      { OTEL_TRACES_SAMPLER: 'parentbased_ratio' },
      'Invalid configuration of policy (1 problem):\n  - OTEL_TRACES_SAMPLER is "parentbased_ratio": expected parentbased_always_on, parentbased_always_off, parentbased_traceidratio,',
    );
  });

  it.each(['1.5', '-0.1', 'ten percent', '10%', '0.1.2'])('reject the ratio %s', (ratio) => {
    expectRefused(
      { OTEL_TRACES_SAMPLER_ARG: ratio },
      `OTEL_TRACES_SAMPLER_ARG is "${ratio}": expected a number from 0 to 1`,
    );
  });

  it('stop startTelemetry before anything starts', () => {
    expect(() =>
      startTelemetry({
        serviceName: 'budget',
        exporter: new InMemorySpanExporter(),
        env: { OTEL_TRACES_SAMPLER: 'sometimes' },
      }),
    ).toThrow(/OTEL_TRACES_SAMPLER is "sometimes"/);
  });
});

describe('the sampler', () => {
  afterEach(() => deriveTracesFromTasks(false));

  const decide = (s: ReturnType<typeof sampler>, parent: Context, attributes = {}) =>
    s.shouldSample(
      parent,
      trace.getSpanContext(parent)?.traceId ?? '0af7651916cd43dd8448eb211c80319c',
      'x',
      SpanKind.INTERNAL,
      attributes,
      [],
    ).decision;

  it('follows a remote parent with parentbased_*, whatever the ratio', () => {
    const none = sampler({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    expect(decide(none, remoteParent(true))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(none, remoteParent(false))).toBe(SamplingDecision.NOT_RECORD);
    const all = sampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' });
    expect(decide(all, remoteParent(false))).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(all, ROOT_CONTEXT)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    const off = sampler({ OTEL_TRACES_SAMPLER: 'always_off' });
    expect(decide(off, remoteParent(true))).toBe(SamplingDecision.NOT_RECORD);
  });

  it('keeps a span that starts marked kept, in a trace left out', () => {
    const none = sampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' });
    expect(decide(none, remoteParent(false), { [LEASH.kept]: 'denial' })).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(decide(none, ROOT_CONTEXT, { [LEASH.kept]: 'error' })).toBe(
      SamplingDecision.RECORD_AND_SAMPLED,
    );
  });

  it('samples the share of tasks the ratio says, deciding from the task root', () => {
    deriveTracesFromTasks(true);
    const half = sampler({
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
    });
    const sampled = TASKS.filter(
      (id) => decide(half, taskTraceContext(id)) === SamplingDecision.RECORD_AND_SAMPLED,
    );
    // The derived root says sampled, but the ratio decides: about half of the tasks.
    expect(sampled.length).toBeGreaterThan(TASKS.length * 0.4);
    expect(sampled.length).toBeLessThan(TASKS.length * 0.6);
    const none = sampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    expect(
      TASKS.filter((id) => decide(none, taskTraceContext(id)) !== SamplingDecision.NOT_RECORD),
    ).toEqual([]);
    const all = sampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' });
    expect(
      TASKS.every(
        (id) => decide(all, taskTraceContext(id)) === SamplingDecision.RECORD_AND_SAMPLED,
      ),
    ).toBe(true);
  });

  it('decides the same for a task in two services, each with a tracer provider of its own', () => {
    deriveTracesFromTasks(true);
    const env = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.3' };
    const policy = new BasicTracerProvider({ sampler: sampler(env) }).getTracer('leash');
    const budget = new BasicTracerProvider({ sampler: sampler(env) }).getTracer('leash');
    let sampled = 0;
    for (const id of TASKS) {
      // Each service derives the task's root on its own, as for an event that came without context.
      const inPolicy = policy.startSpan('process', {}, taskTraceContext(id));
      const inBudget = budget.startSpan('process', {}, taskTraceContext(id));
      expect(inBudget.isRecording()).toBe(inPolicy.isRecording());
      expect(inBudget.spanContext().traceId).toBe(inPolicy.spanContext().traceId);
      // And the next hop, from the headers policy's span sends on.
      const headers: Record<string, string> = {};
      new W3CTraceContextPropagator().inject(trace.setSpan(ROOT_CONTEXT, inPolicy), headers, {
        set: (carrier, key, value) => ((carrier as Record<string, string>)[key] = value),
      });
      const next = budget.startSpan(
        'process',
        {},
        new W3CTraceContextPropagator().extract(ROOT_CONTEXT, headers, {
          get: (carrier, key) => (carrier as Record<string, string>)[key],
          keys: (carrier) => Object.keys(carrier as object),
        }),
      );
      expect(next.isRecording()).toBe(inPolicy.isRecording());
      if (inPolicy.isRecording()) sampled += 1;
    }
    expect(sampled).toBeGreaterThan(TASKS.length * 0.2);
    expect(sampled).toBeLessThan(TASKS.length * 0.4);
  });
});

// The global tracer provider can be set once per process: both rounds below share it.
const keptExporter = new InMemorySpanExporter();
let keptProviderSet = false;

describe.each([
  ['every span through the SDK', false],
  ['a child of a span left out never reaching the SDK', true],
])('spans kept in a trace left out: %s', (_how, skipSdk) => {
  const exporter = keptExporter;

  beforeAll(() => {
    if (!keptProviderSet) {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      trace.setGlobalTracerProvider(
        new BasicTracerProvider({
          sampler: sampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }),
          spanProcessors: [new SimpleSpanProcessor(exporter)],
        }),
      );
      keptProviderSet = true;
    }
    deriveTracesFromTasks(true);
    unsampledParentsDecide(skipSdk);
  });

  afterAll(() => {
    deriveTracesFromTasks(false);
    unsampledParentsDecide(false);
  });

  it(
    skipSdk
      ? 'starts a child of a span left out without the SDK: its parent context goes on'
      : 'asks the SDK for every span',
    async () => {
      let child: SpanContext | undefined;
      let parentContext: SpanContext | undefined;
      await inSpan('outer', {}, async (outer) => {
        parentContext = outer.spanContext();
        await inSpan('inner', {}, async (inner) => void (child = inner.spanContext()));
      });
      expect(child!.traceId).toBe(parentContext!.traceId);
      expect(child!.traceFlags & TraceFlags.SAMPLED).toBe(0);
      // The SDK gives every span it starts an id of its own; the shortcut passes the parent's on.
      if (skipSdk) expect(child!.spanId).toBe(parentContext!.spanId);
      else expect(child!.spanId).not.toBe(parentContext!.spanId);
      expect(exporter.getFinishedSpans()).toEqual([]);
      // Such a child is still kept when it fails, in its trace.
      await inSpan('outer', {}, async () => {
        await expect(
          inSpan('inner', {}, async () => {
            throw new Error('tool broke');
          }),
        ).rejects.toThrow('tool broke');
      });
      const [kept] = exporter.getFinishedSpans();
      expect(exporter.getFinishedSpans()).toHaveLength(1);
      expect(kept!.name).toBe('inner');
      expect(kept!.attributes[LEASH.kept]).toBe('error');
      expect(kept!.status.code).toBe(SpanStatusCode.ERROR);
    },
  );

  beforeEach(() => exporter.reset());

  const taskTraceId = (taskId: string) => trace.getSpanContext(taskTraceContext(taskId))!.traceId;
  const proposed = (taskId: string) => ({
    id: `e-${taskId}`,
    type: 'leash.actions.proposed.v1',
    tenantId: 'acme',
    taskId,
    data: { actionId: `a-${taskId}`, tool: 'refund' },
  });

  it('records nothing of a task whose trace is left out', async () => {
    await gateSpan(
      'policy',
      'decide',
      proposed('quiet'),
      async () => {
        recordOutcome({ type: 'leash.actions.decided.v1', data: { decision: { route: 'allow' } } });
      },
      { parent: taskTraceContext('quiet') },
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('keeps a denial, with the gate span name, its attributes and the task trace id', async () => {
    const started = Date.now();
    await gateSpan(
      'policy',
      'decide',
      proposed('denied'),
      async (span) => {
        expect(span.isRecording()).toBe(false);
        recordOutcome({
          type: 'leash.actions.rejected.v1',
          data: { gate: 'policy', code: 'policy_denied', reason: 'refunds over 100 need a person' },
        });
      },
      { parent: taskTraceContext('denied') },
    );
    const [kept] = exporter.getFinishedSpans();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(kept.name).toBe('leash.policy.decide');
    expect(kept.spanContext().traceId).toBe(taskTraceId('denied'));
    expect(kept.attributes).toMatchObject({
      [LEASH.kept]: 'denial',
      [LEASH.gate]: 'policy',
      [LEASH.taskId]: 'denied',
      [LEASH.actionId]: 'a-denied',
      [LEASH.decision]: 'rejected',
      [LEASH.rejectionCode]: 'policy_denied',
    });
    // It starts when the unrecorded span did.
    expect(kept.startTime[0] * 1000 + kept.startTime[1] / 1e6).toBeGreaterThanOrEqual(started - 1);
  });

  it('keeps an escalation to a person', async () => {
    await gateSpan(
      'policy',
      'decide',
      proposed('escalated'),
      async () => {
        recordOutcome({
          type: 'leash.actions.decided.v1',
          data: { decision: { route: 'approve' } },
        });
      },
      { parent: taskTraceContext('escalated') },
    );
    await inSpan(
      'process leash.tasks.finished',
      { parent: taskTraceContext('ended') },
      async () => {
        recordOutcome({ type: 'leash.tasks.finished.v1', data: { status: 'escalated' } });
      },
    );
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes[LEASH.kept]])).toEqual([
      ['leash.policy.decide', 'escalation'],
      ['process leash.tasks.finished', 'escalation'],
    ]);
  });

  it('keeps an error, with the exception, from a gate or a bus span', async () => {
    await expect(
      gateSpan(
        'budget',
        'reserve',
        proposed('broken'),
        async () => {
          throw new Error('store unavailable');
        },
        { parent: taskTraceContext('broken') },
      ),
    ).rejects.toThrow('store unavailable');
    const process = startProcessSpan({
      system: 'sqlite',
      destination: 'leash.actions.proposed',
      group: 'policy',
      partition: 0,
      offset: '7',
      key: 'broken',
      event: proposed('broken'),
      parent: taskTraceContext('broken'),
    });
    markFailed(process, new Error('dead-lettered'));
    process.end();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.attributes[LEASH.kept], s.status])).toEqual([
      [
        'leash.budget.reserve',
        'error',
        { code: SpanStatusCode.ERROR, message: 'store unavailable' },
      ],
      [
        'process leash.actions.proposed',
        'error',
        { code: SpanStatusCode.ERROR, message: 'dead-lettered' },
      ],
    ]);
    expect(spans[1].attributes).toMatchObject({
      'messaging.kafka.offset': 7,
      'messaging.consumer.group.name': 'policy',
    });
    expect(spans[0].events.map((e) => e.name)).toEqual(['exception']);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(
      new Set([taskTraceId('broken')]),
    );
  });
});
