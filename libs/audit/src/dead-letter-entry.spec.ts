import type { DeadLetter } from '@leash/bus';
import { claimedAttributes, deadLetterEntry } from './dead-letter-entry';

function letter(headers: Record<string, string>, value: string): DeadLetter {
  return {
    topic: 'leash.actions.authorized.dlq',
    originalTopic: 'leash.actions.authorized',
    originalPartition: 3,
    originalOffset: '41',
    group: 'executor',
    error: 'leash.actions.authorized.v1: invalid data: approval.signature',
    attempts: 0,
    failedAt: '2026-01-01T00:00:00.000Z',
    headers,
    key: 'task-9',
    value: Buffer.from(value),
  };
}

describe('deadLetterEntry', () => {
  it("records the refused event's id and claimed source from its CloudEvents headers", () => {
    const entry = deadLetterEntry(
      letter(
        {
          ce_id: 'evt-forged-1',
          ce_source: 'approvals',
          ce_type: 'leash.actions.authorized.v1',
          ce_taskid: 'task-9',
          ce_tenantid: 'acme',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        },
        '{"actionId":"act-1","id":"not-the-event-id"}',
      ),
      '2026-01-01T00:00:01.000Z',
    );
    expect(entry).toMatchObject({
      entryId: 'dlq:leash.actions.authorized:3:41:executor',
      taskId: 'task-9',
      tenantId: 'acme',
      type: 'leash.actions.authorized.v1',
      source: 'approvals',
      kind: 'dead_letter',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: {
        eventId: 'evt-forged-1',
        claimedSource: 'approvals',
        claimedFrom: 'headers',
        key: 'task-9',
      },
    });
    expect(entry.summary).toBe(
      'dead-lettered by executor after 0 attempt(s): event evt-forged-1 claiming source approvals ' +
        '(at leash.actions.authorized/3@41): leash.actions.authorized.v1: invalid data: approval.signature',
    );
  });

  it('reads them from a structured-mode value when there are no headers', () => {
    const value = JSON.stringify({
      specversion: '1.0',
      id: 'evt-2',
      source: 'planner',
      type: 'leash.actions.authorized.v1',
      taskid: 'task-2',
      data: { id: 'inner' },
    });
    expect(claimedAttributes(letter({}, value))).toEqual({
      id: 'evt-2',
      source: 'planner',
      type: 'leash.actions.authorized.v1',
      taskId: 'task-2',
      from: 'value',
    });
  });

  it('reads what it can of a value that is not whole JSON', () => {
    const cut =
      '{"id": "evt-\\"3\\"", "source":"budget", "type": "leash.actions.funded.v1", "data": {"amo';
    const entry = deadLetterEntry(letter({}, cut), '2026-01-01T00:00:01.000Z');
    expect(entry.data).toMatchObject({
      eventId: 'evt-"3"',
      claimedSource: 'budget',
      claimedFrom: 'partial value',
    });
    expect(entry.summary).toContain('event evt-"3" claiming source budget');
  });

  it('says so when nothing can be read, and cuts what is too long to be an id', () => {
    const nothing = deadLetterEntry(letter({}, '\u0000\u0001 garbage'), 'now');
    expect(nothing.data).toMatchObject({
      eventId: null,
      claimedSource: null,
      claimedFrom: 'nothing',
    });
    expect(nothing.summary).toContain('an event with no readable id claiming no source');
    expect(nothing.source).toBe('');

    const long = claimedAttributes(letter({ ce_id: 'x'.repeat(5_000), ce_source: 's' }, '{}'));
    expect(long.id).toHaveLength(203);
  });
});
