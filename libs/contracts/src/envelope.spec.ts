import {
  EventValidationError,
  createEnvelope,
  decodeEnvelope,
  encodeEnvelope,
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

  it('refuses to encode an event onto a topic it does not travel on', () => {
    const sent = createEnvelope('leash.tasks.requested.v1', { agent: 'a', input: 'x' }, attrs);
    expect(() => encodeEnvelope('actions.proposed', sent as never)).toThrow(/does not travel on/);
  });
});
