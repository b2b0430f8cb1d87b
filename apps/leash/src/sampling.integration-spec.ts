import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { InMemoryTransport, createBus, type Bus } from '@leash/bus';
import { REFERENCE_SCENARIOS, scenarioTask } from '@leash/service-planner';
import {
  LEASH,
  gateSpan,
  recordOutcome,
  startTelemetry,
  taskTraceContext,
  type Telemetry,
} from '@leash/telemetry';
import { trace } from '@opentelemetry/api';
import { waitFor } from '@leash/testing';

/*
 * Sampling through the real bus and the SDK as startTelemetry starts it (the
 * tracer provider per service, the batch processor, the sampler from the
 * environment), at a ratio that samples no task: a task's hops record nothing,
 * and a denial in one of them still reaches the exporter, in the task's trace.
 */
describe('a task left out by sampling', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let bus: Bus;
  const handled = new Set<string>();

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'leash',
      exporter,
      env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
    });
    bus = createBus({ transport: new InMemoryTransport(), source: 'sampling-test' });
    // The policy gate as its consumer runs it: a gate span, the decision read from what it emits.
    await bus.subscribe('policy', ['tasks.requested'], async ({ event }) => {
      await gateSpan('policy', 'decide', event, async () => {
        if (event.taskId === 'denied-task') {
          recordOutcome({
            type: 'leash.actions.rejected.v1',
            data: { gate: 'policy', code: 'policy_denied', reason: 'not for this tenant' },
          });
        }
      });
      handled.add(event.taskId!);
    });
  });

  afterAll(async () => {
    await bus?.close();
    await telemetry?.shutdown();
  });

  it('records none of its spans, but keeps the denial, found by the task', async () => {
    const scenario = REFERENCE_SCENARIOS[0];
    for (const taskId of ['quiet-task', 'denied-task']) {
      await bus.publish(
        'tasks.requested',
        scenarioTask(scenario, { tenantId: 'acme', taskId, source: 'sampling-test' }),
      );
    }
    await waitFor(() => handled.size === 2, { description: 'both tasks handled' });
    const spans = await waitFor(
      async () => {
        await telemetry.flush();
        const finished = exporter.getFinishedSpans();
        return finished.length > 0 ? finished : undefined;
      },
      { description: 'the kept span exported' },
    );
    expect(spans.map((s) => s.name)).toEqual(['leash.policy.decide']);
    const [kept] = spans;
    expect(kept.attributes).toMatchObject({
      [LEASH.kept]: 'denial',
      [LEASH.taskId]: 'denied-task',
      [LEASH.decision]: 'rejected',
    });
    expect(kept.resource.attributes['service.name']).toBe('policy');
    expect(kept.spanContext().traceId).toBe(
      trace.getSpanContext(taskTraceContext('denied-task'))!.traceId,
    );
  });
});
