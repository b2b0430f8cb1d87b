import { Writable } from 'node:stream';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { taskRefOf, taskAttributes } from './attributes';
import { outcomeOf } from './gates';
import { leashLogger } from './logger';
import { startBatchProcessSpan } from './messaging';
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
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
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

  it('opens one process span per batch, in a trace of its own, linking each message', async () => {
    deriveTracesFromTasks(true);
    exporter.reset();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const message = (destination: string, headers: Record<string, string>, taskId?: string) => ({
      destination,
      headers,
      event: { id: `e-${destination}-${taskId ?? 'none'}`, taskId },
    });
    // Started inside another span: the batch still begins a trace of its own.
    await inSpan('outer', {}, async () => {
      startBatchProcessSpan({
        system: 'sqlite',
        group: 'audit',
        messages: [
          message('leash.a', { traceparent }, 'task-1'),
          message('leash.b', {}, 'task-2'),
          message('leash.b', {}),
        ],
      }).end();
      startBatchProcessSpan({
        system: 'sqlite',
        group: 'audit',
        messages: [message('leash.a', {}, 'task-3')],
      }).end();
    });
    const [mixed, single, outer] = exporter.getFinishedSpans();
    expect(outer.name).toBe('outer');
    expect(mixed.name).toBe('process');
    expect(mixed.parentSpanContext).toBeUndefined();
    expect(mixed.spanContext().traceId).not.toBe(outer.spanContext().traceId);
    expect(mixed.attributes).toEqual({
      'messaging.system': 'sqlite',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': 'audit',
      'messaging.batch.message_count': 3,
      'leash.service': 'audit',
    });
    // The producer's context where the headers carry one, else the task's derived trace;
    // a message with neither has no link.
    expect(mixed.links.map((link) => [link.context.spanId, link.attributes])).toEqual([
      [
        'b7ad6b7169203331',
        { 'messaging.destination.name': 'leash.a', 'messaging.message.id': 'e-leash.a-task-1' },
      ],
      [
        trace.getSpanContext(taskTraceContext('task-2'))!.spanId,
        { 'messaging.destination.name': 'leash.b', 'messaging.message.id': 'e-leash.b-task-2' },
      ],
    ]);
    expect(single.name).toBe('process leash.a');
    expect(single.attributes['messaging.destination.name']).toBe('leash.a');
    // Where spans are not exported, no links are built.
    deriveTracesFromTasks(false);
    exporter.reset();
    startBatchProcessSpan({
      system: 'sqlite',
      group: 'audit',
      messages: [message('leash.a', { traceparent }, 'task-1')],
    }).end();
    expect(exporter.getFinishedSpans()[0].links).toEqual([]);
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
