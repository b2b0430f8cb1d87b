import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { LEASH } from './attributes';
import { startBatchProcessSpan, startProcessSpan, startPublishSpan } from './messaging';
import { startTelemetry } from './sdk';
import { inSpan } from './tracing';
import { ROOT_CONTEXT } from '@opentelemetry/api';

/** The service.name each exported span's resource gives, by span name. */
function serviceNames(exporter: InMemorySpanExporter): Record<string, unknown> {
  return Object.fromEntries(
    exporter
      .getFinishedSpans()
      .map((span) => [span.name, span.resource.attributes['service.name']]),
  );
}

describe('service.name of exported spans', () => {
  it('in one process: the service each span works for, and the process name for the rest', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({ serviceName: 'leash', serviceVersion: '1.2.3', exporter });
    try {
      await inSpan('gate policy', { attributes: { [LEASH.service]: 'policy' } }, async () => {});
      await inSpan('chat m', { attributes: { [LEASH.service]: 'planner' } }, async () => {});
      await inSpan('unowned', {}, async () => {});
      startPublishSpan({
        system: 'sqlite',
        destination: 'leash.actions.decided',
        key: 't',
        bodySize: 1,
        event: { id: 'e1', type: 'leash.actions.decided.v1', source: 'policy' },
        parent: ROOT_CONTEXT,
      }).end();
      startProcessSpan({
        system: 'sqlite',
        destination: 'leash.actions.funded',
        group: 'executor',
        partition: 0,
        offset: '1',
        key: 't',
        event: { id: 'e2', type: 'leash.actions.funded.v1', source: 'budget' },
        parent: ROOT_CONTEXT,
      }).end();
      startBatchProcessSpan({
        system: 'sqlite',
        group: 'approvals.control.x',
        messages: [{ destination: 'leash.control', headers: {}, event: { id: 'e3', type: 'x' } }],
      }).end();
      await telemetry.flush();
      expect(serviceNames(exporter)).toEqual({
        'gate policy': 'policy',
        'chat m': 'planner',
        unowned: 'leash',
        'publish leash.actions.decided': 'policy',
        'process leash.actions.funded': 'executor',
        'process leash.control': 'approvals',
      });
      for (const span of exporter.getFinishedSpans()) {
        expect(span.resource.attributes['service.namespace']).toBe('leash');
        expect(span.resource.attributes['service.version']).toBe('1.2.3');
      }
      expect(exporter.getFinishedSpans().find((s) => s.name === 'chat m')?.kind).toBe(
        SpanKind.INTERNAL,
      );
    } finally {
      await telemetry.shutdown();
    }
  });

  it('apart: a service process names itself', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({ serviceName: 'executor', exporter });
    try {
      await inSpan('execute_tool x', {}, async () => {});
      await telemetry.flush();
      expect(serviceNames(exporter)).toEqual({ 'execute_tool x': 'executor' });
    } finally {
      await telemetry.shutdown();
    }
  });
});
