import type { TaskTaint } from '../decisions.aggregates';
import { taintedArgumentNames } from '../evaluation/derived-facts';
import {
  TAINT_RECORD_MAX_CHARS,
  aboutRequester,
  recordUntrusted,
  recordVerified,
  seenOf,
  waitingFor,
} from './task-taint';

const empty = (): TaskTaint => ({
  tenantId: 'acme',
  taskId: 't',
  inputSeen: true,
  requestedBy: 'jane@example.com',
  values: [],
  verified: [],
  chars: 0,
  overflowed: false,
  awaiting: {},
  parked: [],
  updatedAt: '2026-03-01T12:00:00.000Z',
});

describe('the task taint record', () => {
  it('is bounded: past the bound it is marked overflowed and every argument counts as tainted', () => {
    const doc = empty();
    recordUntrusted(doc, 'From jane@example.com: order O-5001');
    expect(doc.overflowed).toBe(false);
    // Tool outputs are at most 64,000 characters: enough of them fill the record.
    for (let i = 0; !doc.overflowed && i < 100; i++) {
      recordUntrusted(doc, `page ${i}: ${'lorem ipsum '.repeat(5_000)}`);
    }
    expect(doc.overflowed).toBe(true);
    expect(doc.chars).toBeLessThanOrEqual(TAINT_RECORD_MAX_CHARS);
    expect(taintedArgumentNames({ subject: 'Hello', amountUsd: 3 }, [], seenOf(doc))).toEqual([
      'amountUsd',
      'subject',
    ]);
  });

  it('waits for the input, and for the outcomes of earlier steps only', () => {
    const doc = empty();
    doc.inputSeen = false;
    expect(waitingFor(doc, 1)).toContain('task input');
    doc.inputSeen = true;
    doc.awaiting = {
      a1: { step: 1, aboutRequester: false },
      a2: { step: 2, aboutRequester: false },
    };
    expect(waitingFor(doc, 2)).toContain('a1');
    expect(waitingFor(doc, 1)).toBeUndefined();
  });

  it('verifies what a structured read about the requester returned, nothing from free text', () => {
    const doc = empty();
    expect(aboutRequester(doc, { customer: 'JANE@example.com' })).toBe(true);
    expect(aboutRequester(doc, { customer: 'C-1043' })).toBe(false);
    recordVerified(doc, JSON.stringify({ orders: [{ orderId: 'O-5001' }] }));
    recordVerified(doc, 'order O-6666');
    expect(doc.verified).toEqual(['o-5001']);
  });
});
