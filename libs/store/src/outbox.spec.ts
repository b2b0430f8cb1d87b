import { EVENTS, EventValidationError, createEnvelope } from '@leash/contracts';
import { prepareOutboxRecord } from './outbox';

const event = createEnvelope(
  'leash.tasks.requested.v1',
  { agent: 'support', input: 'refund order 7' },
  { source: 'test', taskId: 'task-1', tenantId: 'tenant-1', id: 'e1' },
);

describe('prepareOutboxRecord', () => {
  it('serialises the envelope with its partition key and headers', () => {
    const record = prepareOutboxRecord('tasks.requested', event, {
      headers: { traceparent: 'tp' },
    });
    expect(record).toMatchObject({ topic: 'tasks.requested', key: 'task-1', eventId: 'e1' });
    expect(JSON.parse(record.envelope)).toEqual(event);
    expect(JSON.parse(record.headers)).toEqual({ traceparent: 'tp' });
    expect(JSON.parse(prepareOutboxRecord('tasks.requested', event).headers)).toEqual({});
  });

  it('checks the data only of an envelope createEnvelope did not build as it is', () => {
    const check = jest.spyOn(EVENTS['leash.tasks.requested.v1'].schema, 'safeParse');
    try {
      prepareOutboxRecord('tasks.requested', event);
      expect(check).not.toHaveBeenCalled();
      prepareOutboxRecord('tasks.requested', { ...event });
      prepareOutboxRecord('tasks.requested', { ...event, data: { ...event.data } });
      expect(check).toHaveBeenCalledTimes(2);
    } finally {
      check.mockRestore();
    }
  });

  it.each([
    ['a topic the type does not travel on', 'tasks.finished', event],
    ['an unknown type', 'tasks.requested', { ...event, type: 'leash.nope.v1' }],
    ['invalid data', 'tasks.requested', { ...event, data: { agent: '' } }],
    ['no partition key', 'tasks.requested', { ...event, taskId: undefined }],
    ['no id', 'tasks.requested', { ...event, id: '' }],
  ])('refuses %s', (_, topic, envelope) => {
    expect(() => prepareOutboxRecord(topic as never, envelope as never)).toThrow(
      EventValidationError,
    );
  });
});
