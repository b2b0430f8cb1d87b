import { context, propagation, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  createEnvelope,
  encodeEnvelope,
  EventValidationError,
  type WireMessage,
} from '@leash/contracts';
import { waitFor } from '@leash/testing';
import type {
  BatchHandler,
  BusTransport,
  ConsumeControls,
  ConsumeSpec,
  RecordHandler,
  TopicSpec,
  TransportRecord,
} from './bus.port';
import { createBus } from './bus';
import { DLQ_HEADERS, toDeadLetter } from './dead-letter';
import { TransientError } from './errors';
import { InMemoryTransport } from './in-memory.transport';

const event = (taskId = 'task-1', input = 'do it') =>
  createEnvelope(
    'leash.tasks.requested.v1',
    { agent: 'unit', input },
    { source: 'unit', tenantId: 'tenant-1', taskId },
  );

/** Records what the bus asks of its transport; `consume` hands back the bus's record handler. */
class ScriptedTransport implements BusTransport {
  readonly system = 'scripted';
  readonly ensured: TopicSpec[][] = [];
  readonly sent: { topic: string; message: WireMessage }[] = [];
  handler: RecordHandler | undefined;
  batchHandler: BatchHandler | undefined;
  maxRecords: number | undefined;
  spec: ConsumeSpec | undefined;
  stopped = 0;
  closed = 0;
  failEnsure = 0;
  failSendTo: string | undefined;

  async ensureTopics(topics: readonly TopicSpec[]) {
    if (this.failEnsure-- > 0) throw new Error('broker unavailable');
    this.ensured.push([...topics]);
  }
  async send(topic: string, messages: readonly WireMessage[]) {
    if (topic === this.failSendTo) throw new Error(`cannot write ${topic}`);
    for (const message of messages) this.sent.push({ topic, message });
    return messages.map((_, i) => ({ topic, partition: 0, offset: String(i) }));
  }
  async consume(spec: ConsumeSpec, handler: RecordHandler) {
    this.spec = spec;
    this.handler = handler;
    return { stop: async () => void this.stopped++ };
  }
  async consumeBatches(spec: ConsumeSpec, maxRecords: number, handler: BatchHandler) {
    this.spec = spec;
    this.maxRecords = maxRecords;
    this.batchHandler = handler;
    return { stop: async () => void this.stopped++ };
  }
  async ping() {}
  async close() {
    this.closed++;
  }
}

const record = (message: WireMessage, offset = '7'): TransportRecord => ({
  topic: 'leash.tasks.requested',
  partition: 3,
  offset,
  key: message.key,
  value: message.value,
  headers: message.headers,
  timestamp: Date.now(),
});

const controls = (signal = new AbortController().signal): ConsumeControls => ({
  heartbeat: jest.fn(() => Promise.resolve()),
  signal,
});

describe('createBus', () => {
  it('names physical topics with the prefix', () => {
    const bus = createBus({ transport: new ScriptedTransport(), source: 'unit' });
    expect(bus.topicName('tasks.requested')).toBe('leash.tasks.requested');
    const acme = createBus({
      transport: new ScriptedTransport(),
      source: 'unit',
      topicPrefix: 'acme.',
    });
    expect(acme.topicName('control')).toBe('acme.control');
    expect(acme.system).toBe('scripted');
  });

  it('publishes keyed by the registry, creating the topic and its dead-letter topic once', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit', partitions: 3 });
    const first = event('task-a');
    await Promise.all([
      bus.publish('tasks.requested', first),
      bus.publish('tasks.requested', event('task-b')),
    ]);
    await bus.publish('tasks.requested', event('task-c'));
    await bus.subscribe('g', ['tasks.requested'], async () => undefined);

    expect(transport.ensured).toEqual([
      [
        { name: 'leash.tasks.requested', partitions: 3 },
        { name: 'leash.tasks.requested.dlq', partitions: 3 },
      ],
    ]);
    expect(transport.sent.map((s) => [s.topic, s.message.key])).toEqual([
      ['leash.tasks.requested', 'task-a'],
      ['leash.tasks.requested', 'task-b'],
      ['leash.tasks.requested', 'task-c'],
    ]);
    expect(transport.sent[0].message.headers['ce_id']).toBe(first.id);
  });

  it('tries topic creation again after a failure', async () => {
    const transport = new ScriptedTransport();
    transport.failEnsure = 1;
    const bus = createBus({ transport, source: 'unit' });
    await expect(bus.publish('tasks.requested', event())).rejects.toThrow('broker unavailable');
    await bus.publish('tasks.requested', event());
    expect(transport.ensured).toHaveLength(1);
    expect(transport.sent).toHaveLength(1);
  });

  it('refuses an event on a topic it does not travel on', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    // The types forbid it; a caller that casts its way past them still gets stopped.
    const publish = bus.publish as (topic: string, envelope: unknown) => Promise<unknown>;
    await expect(publish.call(bus, 'actions.proposed', event())).rejects.toBeInstanceOf(
      EventValidationError,
    );
    expect(transport.sent).toHaveLength(0);
  });

  it('adds caller headers, which cannot override the CloudEvents attributes', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    const e = event();
    await bus.publish('tasks.requested', e, { headers: { 'x-origin': 'crm', ce_id: 'forged' } });
    expect(transport.sent[0].message.headers).toMatchObject({ 'x-origin': 'crm', ce_id: e.id });
  });

  it('passes the retry-free path straight through: one delivery, attempt 1, then commit', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    const handler = jest.fn(async () => undefined);
    await bus.subscribe('g', ['tasks.requested'], handler, { fromBeginning: false });
    expect(transport.spec).toEqual({
      group: 'g',
      topics: ['leash.tasks.requested'],
      fromBeginning: false,
    });
    const e = event();
    await transport.handler!(record(encodeEnvelope('tasks.requested', e)), controls());
    expect(handler).toHaveBeenCalledTimes(1);
    expect(handler.mock.calls[0]).toMatchObject([
      { topic: 'tasks.requested', partition: 3, offset: '7', key: 'task-1', attempt: 1, event: e },
    ]);
  });

  it('validates once per process: the bytes it published of an envelope it built come back as that envelope', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    const delivered: unknown[] = [];
    await bus.subscribe('g', ['tasks.requested'], async ({ event }) => void delivered.push(event));
    const built = event();
    await bus.publish('tasks.requested', built);
    const sent = transport.sent[0]!.message;
    // The same bytes (an embedded log's in-memory tail): no parse, no check, the same object.
    await transport.handler!(record(sent), controls());
    // The same content in other bytes (from a file or a broker): parsed and checked at the edge.
    await transport.handler!(record({ ...sent, value: Buffer.from(sent.value) }), controls());
    expect(delivered[0]).toBe(built);
    // Shared by every consumer in the process, so frozen to the leaves: nobody changes it for the others.
    expect(() => {
      (built.data as { input: string }).input = 'changed';
    }).toThrow(TypeError);
    expect(delivered[1]).not.toBe(built);
    expect(delivered[1]).toEqual(built);
    // An envelope not built by createEnvelope is not trusted, even from these bytes.
    const forged = { ...event('task-2'), data: { agent: 'unit', input: 'forged' } };
    await bus.publish('tasks.requested', forged as typeof built);
    await transport.handler!(record(transport.sent[1]!.message), controls());
    // Parsed by the schema: it has the default the forged data lacked.
    expect(delivered[2]).toEqual({ ...forged, data: { ...forged.data, metadata: {} } });
  });

  it('stops retrying when the partition is lost, and rejects instead of dead-lettering', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit', retry: { initialDelayMs: 60_000 } });
    const failure = new TransientError('timeout');
    const handler = jest.fn(async () => {
      throw failure;
    });
    await bus.subscribe('g', ['tasks.requested'], handler);
    const abort = new AbortController();
    const c = controls(abort.signal);
    const handling = transport.handler!(record(encodeEnvelope('tasks.requested', event())), c);
    await waitFor(() => (c.heartbeat as jest.Mock).mock.calls.length > 0, {
      description: 'the retry wait to begin',
    });
    abort.abort();
    await expect(handling).rejects.toBe(failure);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(transport.sent).toHaveLength(0);
  });

  it('rejects when the dead-letter topic cannot be written, so the record comes again', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    await bus.subscribe('g', ['tasks.requested'], async () => {
      throw new Error('permanent');
    });
    transport.failSendTo = 'leash.tasks.requested.dlq';
    const r = record(encodeEnvelope('tasks.requested', event()));
    await expect(transport.handler!(r, controls())).rejects.toThrow('cannot write');
    transport.failSendTo = undefined;
    await transport.handler!(r, controls());
    expect(transport.sent.map((s) => s.topic)).toEqual(['leash.tasks.requested.dlq']);
    expect(transport.sent[0].message.headers).toMatchObject({
      [DLQ_HEADERS.error]: 'permanent',
      [DLQ_HEADERS.attempts]: '1',
      [DLQ_HEADERS.topic]: 'leash.tasks.requested',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '7',
      [DLQ_HEADERS.group]: 'g',
    });
  });

  it('closes every subscription, then the transport, once; and refuses work afterwards', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    await bus.subscribe('a', ['tasks.requested'], async () => undefined);
    await bus.subscribeDeadLetters('b', ['tasks.requested'], async () => undefined);
    expect(transport.spec?.topics).toEqual(['leash.tasks.requested.dlq']);
    await Promise.all([bus.close(), bus.close()]);
    expect(transport.stopped).toBe(2);
    expect(transport.closed).toBe(1);
    await expect(bus.publish('tasks.requested', event())).rejects.toThrow('closed');
    await expect(bus.subscribe('c', ['tasks.requested'], async () => undefined)).rejects.toThrow(
      'closed',
    );
  });

  it('drains in-flight handlers on close over a real engine', async () => {
    const transport = new InMemoryTransport();
    const bus = createBus({ transport, source: 'unit' });
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let finished = false;
    await bus.subscribe('g', ['tasks.requested'], async () => {
      started = true;
      await blocked;
      finished = true;
    });
    await bus.publish('tasks.requested', event());
    await waitFor(() => started);
    const closing = bus.close();
    release();
    await closing;
    expect(finished).toBe(true);
    const [handled] = transport.engine.records('leash.tasks.requested');
    const committed = transport.engine.committedOffset('g', handled.topic, handled.partition);
    expect(committed).toBe('1');
  });
});

describe('createBus: batches', () => {
  /** A scope that counts its runs and what it kept (only the work of runs that resolved). */
  function countingScope() {
    const runs: ('kept' | 'undone')[] = [];
    return {
      runs,
      scope: async <R>(work: () => Promise<R>): Promise<R> => {
        try {
          const result = await work();
          runs.push('kept');
          return result;
        } catch (error) {
          runs.push('undone');
          throw error;
        }
      },
    };
  }
  const records = (...events: ReturnType<typeof event>[]) =>
    events.map((e, i) => record(encodeEnvelope('tasks.requested', e), String(10 + i)));
  /** A bus on a scripted transport, a counting scope, and the offsets its handler saw. */
  function batchBus() {
    const transport = new ScriptedTransport();
    return {
      transport,
      bus: createBus({ transport, source: 'unit' }),
      counting: countingScope(),
      seen: [] as string[],
    };
  }

  it('asks the transport for batches of maxEvents and runs a batch in one scope, each event once', async () => {
    const { transport, bus, counting, seen } = batchBus();
    await bus.subscribe('g', ['tasks.requested'], async (d) => void seen.push(d.offset), {
      batch: { maxEvents: 16, maxMs: 60_000, scope: counting.scope },
    });
    expect(transport.maxRecords).toBe(16);
    expect(transport.handler).toBeUndefined();
    await transport.batchHandler!(records(event('a'), event('b'), event('c')), controls());
    expect(seen).toEqual(['10', '11', '12']);
    expect(counting.runs).toEqual(['kept']);
  });

  it('undoes the scope when an event fails, then takes the events alone: the failing one to its dead letter', async () => {
    const { transport, bus, counting, seen } = batchBus();
    await bus.subscribe(
      'g',
      ['tasks.requested'],
      async (d) => {
        if (d.offset === '11') throw new Error('poison');
        seen.push(d.offset);
      },
      { batch: { maxEvents: 16, maxMs: 60_000, scope: counting.scope } },
    );
    await transport.batchHandler!(records(event('a'), event('b'), event('c')), controls());
    // The first ran in the undone scope, then again alone; the third only alone.
    expect(counting.runs).toEqual(['undone']);
    expect(seen).toEqual(['10', '10', '12']);
    expect(transport.sent.map((s) => [s.topic, s.message.headers[DLQ_HEADERS.offset]])).toEqual([
      ['leash.tasks.requested.dlq', '11'],
    ]);
  });

  it('closes a scope after maxMs and opens the next; a failing scope sends only its events and the rest alone', async () => {
    const { transport, bus, counting, seen } = batchBus();
    await bus.subscribe(
      'g',
      ['tasks.requested'],
      async (d) => {
        if (d.offset === '12' && !seen.includes('12?')) {
          seen.push('12?');
          throw new TransientError('not yet');
        }
        seen.push(d.offset);
      },
      // 0 ms: every scope takes one event, the least it takes.
      { batch: { maxEvents: 16, maxMs: 0, scope: counting.scope } },
    );
    await transport.batchHandler!(
      records(event('a'), event('b'), event('c'), event('d')),
      controls(),
    );
    // Two scopes kept, the third undone; its event and the fourth then went alone (with a retry).
    expect(counting.runs).toEqual(['kept', 'kept', 'undone']);
    expect(seen).toEqual(['10', '11', '12?', '12', '13']);
    expect(transport.sent).toHaveLength(0);
  });

  it('takes a batch with a record that does not decode one record at a time, without a scope', async () => {
    const { transport, bus, counting, seen } = batchBus();
    await bus.subscribe('g', ['tasks.requested'], async (d) => void seen.push(d.offset), {
      batch: { maxEvents: 16, scope: counting.scope },
    });
    const [first, second] = records(event('a'), event('b'));
    const garbage = { ...second!, value: Buffer.from('not an event') };
    await transport.batchHandler!([first!, garbage], controls());
    expect(counting.runs).toEqual([]);
    expect(seen).toEqual(['10']);
    expect(transport.sent.map((s) => s.topic)).toEqual(['leash.tasks.requested.dlq']);
  });

  it('rejects a failed batch when the partition is lost, so it comes again whole', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    const abort = new AbortController();
    const failure = new Error('lost mid-batch');
    await bus.subscribe(
      'g',
      ['tasks.requested'],
      async () => {
        abort.abort();
        throw failure;
      },
      { batch: { maxEvents: 16, scope: countingScope().scope } },
    );
    await expect(
      transport.batchHandler!(records(event('a'), event('b')), controls(abort.signal)),
    ).rejects.toBe(failure);
    expect(transport.sent).toHaveLength(0);
  });

  it('keeps the per-record path for a batch of one, or without batch options', async () => {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    await bus.subscribe('g', ['tasks.requested'], async () => undefined, {
      batch: { maxEvents: 1, scope: countingScope().scope },
    });
    expect(transport.handler).toBeDefined();
    expect(transport.batchHandler).toBeUndefined();
  });
});

describe('createBus: process spans', () => {
  const exporter = new InMemorySpanExporter();
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  /** Delivers one traced record to a subscription; returns the span context active in the handler. */
  async function deliver(processSpans: boolean | undefined): Promise<SpanContext | undefined> {
    const transport = new ScriptedTransport();
    const bus = createBus({ transport, source: 'unit' });
    let active: SpanContext | undefined;
    await bus.subscribe(
      'g',
      ['tasks.requested'],
      async () => {
        active = trace.getSpanContext(context.active());
      },
      processSpans === undefined ? {} : { processSpans },
    );
    const message = encodeEnvelope('tasks.requested', event());
    const traced = { ...message, headers: { ...message.headers, traceparent } };
    await transport.handler!(record(traced), controls());
    return active;
  }

  it('runs each delivery in a process span, child of the producer context, by default', async () => {
    const active = await deliver(undefined);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(['process leash.tasks.requested']);
    expect(spans[0].parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(active?.spanId).toBe(spans[0].spanContext().spanId);
  });

  it('opens no span for a batch consumer, whose handler runs outside any trace', async () => {
    const active = await deliver(false);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(active).toBeUndefined();
  });
});

describe('toDeadLetter', () => {
  it('reads a letter without dead-letter headers defensively', () => {
    const letter = toDeadLetter({
      topic: 'leash.control.dlq',
      partition: 0,
      offset: '0',
      key: 'control',
      value: Buffer.from('{}'),
      headers: { ce_id: 'x' },
      timestamp: 0,
    });
    expect(letter).toMatchObject({
      originalTopic: 'leash.control',
      originalPartition: -1,
      attempts: 0,
      error: '',
      failedAt: '1970-01-01T00:00:00.000Z',
      headers: { ce_id: 'x' },
    });
  });
});
