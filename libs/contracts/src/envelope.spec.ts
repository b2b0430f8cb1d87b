import { CloudEvent, Kafka, type KafkaMessage } from 'cloudevents';
import {
  EventValidationError,
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
  isValidatedEnvelope,
  partitionKeyOf,
} from './envelope';

const attrs = { source: 'spec', tenantId: 'acme', taskId: 'task-1' };

describe('the envelope', () => {
  it('round-trips through the CloudEvents Kafka binding in binary mode', () => {
    const sent = createEnvelope(
      'leash.tasks.requested.v1',
      { agent: 'support', input: 'hi' },
      attrs,
    );
    const wire = encodeEnvelope('tasks.requested', sent);

    expect(wire.key).toBe('task-1');
    expect(wire.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: sent.id,
      ce_type: 'leash.tasks.requested.v1',
      ce_source: 'spec',
      ce_tenantid: 'acme',
      ce_taskid: 'task-1',
    });
    expect(JSON.parse(wire.value.toString())).toEqual({
      agent: 'support',
      input: 'hi',
      metadata: {},
    });
    expect(decodeEnvelope('tasks.requested', wire)).toEqual(sent);
  });

  it('keys budget requests by tenant and control events on one key', () => {
    expect(partitionKeyOf('budget.requests', { ...attrs, type: 'leash.budget.requested.v1' })).toBe(
      'acme',
    );
    expect(partitionKeyOf('control', { type: 'leash.control.kill.v1' })).toBe('control');
  });

  it('refuses to build an envelope without its partition key', () => {
    expect(() =>
      createEnvelope('leash.tasks.requested.v1', { agent: 'a', input: 'x' }, { source: 's' }),
    ).toThrow(/needs a taskId/);
  });

  it('names every invalid field', () => {
    try {
      createEnvelope('leash.tasks.requested.v1', { agent: '', input: 3 } as never, attrs);
      throw new Error('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as EventValidationError).issues).toEqual([
        expect.stringMatching(/^agent: /),
        expect.stringMatching(/^input: /),
      ]);
    }
  });

  it('rejects on decode: bad data, unknown type, wrong topic, not a CloudEvent', () => {
    const good = encodeEnvelope(
      'tasks.requested',
      createEnvelope('leash.tasks.requested.v1', { agent: 'a', input: 'x' }, attrs),
    );
    const badData = { ...good, value: Buffer.from('{"agent":"a"}') };
    expect(() => decodeEnvelope('tasks.requested', badData)).toThrow(/input/);

    const unknown = { ...good, headers: { ...good.headers, ce_type: 'leash.nope.v1' } };
    expect(() => decodeEnvelope('tasks.requested', unknown)).toThrow(/unknown event type/);

    expect(() => decodeEnvelope('actions.proposed', good)).toThrow(/does not travel on/);

    const notJson = { ...good, value: Buffer.from('{') };
    expect(() => decodeEnvelope('tasks.requested', notJson)).toThrow(EventValidationError);

    const noId = { ...good, headers: { ...good.headers } };
    delete (noId.headers as Record<string, string>).ce_id;
    expect(() => decodeEnvelope('tasks.requested', noId)).toThrow(EventValidationError);
  });

  it('knows the envelopes it built whose data is still the object it checked', () => {
    const event = createEnvelope(
      'leash.tasks.requested.v1',
      { agent: 'support', input: 'hello' },
      { source: 'test', taskId: 't1' },
    );
    expect(isValidatedEnvelope(event)).toBe(true);
    expect(isValidatedEnvelope({ ...event })).toBe(false);
    expect(isValidatedEnvelope({ ...event, data: { agent: '' } } as never)).toBe(false);
  });

  it('refuses to encode an event onto a topic it does not travel on', () => {
    const sent = createEnvelope('leash.tasks.requested.v1', { agent: 'a', input: 'x' }, attrs);
    expect(() => encodeEnvelope('actions.proposed', sent as never)).toThrow(/does not travel on/);
  });

  describe('matches the cloudevents Kafka binding', () => {
    const sent = createEnvelope(
      'leash.tasks.requested.v1',
      { agent: 'support', input: 'hé, where is my order?' },
      attrs,
    );
    const reference = () =>
      Kafka.binary(
        new CloudEvent({
          specversion: '1.0',
          id: sent.id,
          type: sent.type,
          source: sent.source,
          time: sent.time,
          datacontenttype: 'application/json',
          tenantid: 'acme',
          taskid: 'task-1',
          data: sent.data,
        }),
      ) as KafkaMessage<unknown>;

    it('encodes the same headers and value as Kafka.binary', () => {
      const ours = encodeEnvelope('tasks.requested', sent);
      const theirs = reference();
      // The binding writes unset optional attributes as undefined; on the wire they are absent.
      const theirHeaders = Object.fromEntries(
        Object.entries(theirs.headers)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, String(v)]),
      );
      expect(ours.headers).toEqual(theirHeaders);
      expect(JSON.parse(ours.value.toString())).toEqual(theirs.value);
    });

    it('is read back by Kafka.toEvent as the same event', () => {
      const wire = encodeEnvelope('tasks.requested', sent);
      const event = Kafka.toEvent({
        key: wire.key,
        value: wire.value.toString(),
        headers: wire.headers,
      } as KafkaMessage<string>) as CloudEvent<unknown>;
      expect(event.validate()).toBe(true);
      expect(event).toMatchObject({
        id: sent.id,
        type: sent.type,
        source: 'spec',
        time: sent.time,
        tenantid: 'acme',
        taskid: 'task-1',
        data: sent.data,
      });
    });

    it("reads the binding's binary and structured messages", () => {
      const binary = reference();
      const fromBinary = decodeEnvelope('tasks.requested', {
        key: 'task-1',
        value: Buffer.from(JSON.stringify(binary.value)),
        headers: Object.fromEntries(Object.entries(binary.headers).map(([k, v]) => [k, String(v)])),
      });
      expect(fromBinary).toEqual(sent);

      const structured = Kafka.structured(
        new CloudEvent({
          specversion: '1.0',
          id: sent.id,
          type: sent.type,
          source: sent.source,
          time: sent.time,
          datacontenttype: 'application/json',
          tenantid: 'acme',
          taskid: 'task-1',
          data: sent.data,
        }),
      ) as KafkaMessage<string>;
      const fromStructured = decodeEnvelope('tasks.requested', {
        key: 'task-1',
        value: Buffer.from(structured.value),
        headers: Object.fromEntries(
          Object.entries(structured.headers).map(([k, v]) => [k, String(v)]),
        ),
      });
      expect(fromStructured).toEqual(sent);
    });

    it('refuses attributes the spec does not allow when an envelope is made', () => {
      expect(() =>
        createEnvelope(
          'leash.tasks.requested.v1',
          { agent: 'a', input: 'x' },
          { ...attrs, time: 'yesterday' },
        ),
      ).toThrow(/invalid CloudEvent attributes/);
    });

    it('refuses a message of another spec version or with a bad time', () => {
      const wire = encodeEnvelope('tasks.requested', sent);
      expect(() =>
        decodeEnvelope('tasks.requested', {
          ...wire,
          headers: { ...wire.headers, ce_specversion: '0.3' },
        }),
      ).toThrow(/CloudEvents 1.0/);
      expect(() =>
        decodeEnvelope('tasks.requested', {
          ...wire,
          headers: { ...wire.headers, ce_time: 'soon' },
        }),
      ).toThrow(/ce_time/);
    });
  });
});
