import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { taskRefOf, taskAttributes } from './attributes';
import { outcomeOf } from './gates';
import { leashLogger } from './logger';
import {
  deriveTracesFromTasks,
  inSpan,
  spanContextFromTraceparent,
  taskTraceContext,
  traceparentOf,
} from './tracing';

describe('telemetry', () => {
  const exporter = new InMemorySpanExporter();
  const lines: Record<string, unknown>[] = [];

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    leashLogger({
      service: 'test',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    });
  });

  it('writes JSON log lines with the trace and span ids of the active span', async () => {
    let ids: { traceId: string; spanId: string } | undefined;
    await inSpan('work', {}, async (span) => {
      ids = span.spanContext();
      leashLogger().info('inside');
    });
    leashLogger().info('outside');
    expect(lines.find((line) => line.msg === 'inside')).toMatchObject({
      level: 'info',
      service: 'test',
      trace_id: ids?.traceId,
      span_id: ids?.spanId,
    });
    expect(lines.find((line) => line.msg === 'outside')).not.toHaveProperty('trace_id');
  });

  it('derives one trace per task for events that arrive without trace context', () => {
    deriveTracesFromTasks(true);
    const first = trace.getSpanContext(taskTraceContext('task-1'));
    expect(trace.getSpanContext(taskTraceContext('task-1'))).toEqual(first);
    expect(trace.getSpanContext(taskTraceContext('task-2'))?.traceId).not.toBe(first?.traceId);
    expect(spanContextFromTraceparent(traceparentOf(first!))).toEqual(first);
    deriveTracesFromTasks(false);
    expect(trace.getSpanContext(taskTraceContext('task-1'))).toBeUndefined();
  });

  it('reads task attributes and a policy decision from events', () => {
    const event = {
      type: 'leash.actions.decided.v1',
      tenantId: 't1',
      taskId: 'task-1',
      data: {
        agent: { name: 'support', version: 2 },
        versions: { prompt: 'p@1', model: 'm', tools: 'abc', policy: 3 },
        decision: {
          route: 'approve',
          policyId: 'support',
          policyVersion: 3,
          reason: 'refund over threshold',
          signed: { keyId: 'k1' },
        },
      },
    };
    expect(taskAttributes(taskRefOf(event))).toEqual({
      'leash.task.id': 'task-1',
      'leash.tenant.id': 't1',
      'leash.agent.name': 'support',
      'leash.agent.version': 2,
      'leash.version.prompt': 'p@1',
      'leash.version.model': 'm',
      'leash.version.tools': 'abc',
      'leash.policy.version': 3,
    });
    expect(outcomeOf(event)).toMatchObject({
      gate: 'policy',
      route: 'approve',
      decision: 'approve',
      attributes: {
        'leash.decision': 'approve',
        'leash.policy.version': 3,
        'leash.signer.key_id': 'k1',
        'leash.reason': 'refund over threshold',
      },
    });
  });
});
