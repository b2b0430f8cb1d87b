import type { OutboxEntry } from '@leash/store';
import { CommittedOutbox } from './committed-outbox';

const entry = (seq: number): OutboxEntry => ({
  id: String(seq),
  topic: 'tasks.requested',
  key: 't1',
  envelope: { id: `e${seq}` } as OutboxEntry['envelope'],
  headers: {},
  enqueuedAt: '2026-11-21T00:00:00.000Z',
  attempts: 0,
});
const ids = (entries: readonly OutboxEntry[] | undefined) => entries?.map((e) => e.id);

describe('CommittedOutbox', () => {
  it('answers nothing until a read of the table found every row', () => {
    const memory = new CommittedOutbox();
    memory.committed([entry(1)]);
    expect(memory.pending(10, 0)).toBeUndefined();

    const full = memory.mark(0);
    memory.resync([entry(1), entry(2)], false, full); // the read was cut at its limit
    expect(memory.pending(10, 0)).toBeUndefined();

    memory.resync([entry(1), entry(2)], true, memory.mark(0));
    expect(ids(memory.pending(10, 0))).toEqual(['1', '2']);
    expect(ids(memory.pending(1, 0))).toEqual(['1']);
  });

  it('reads the table again once another connection committed', () => {
    const memory = new CommittedOutbox();
    memory.resync([], true, memory.mark(7));
    memory.committed([entry(1)]);
    expect(ids(memory.pending(10, 7))).toEqual(['1']);
    expect(memory.pending(10, 8)).toBeUndefined();
  });

  it('keeps what this connection committed after the read, and drops what the read no longer found', () => {
    const memory = new CommittedOutbox();
    memory.resync([entry(1), entry(2)], true, memory.mark(0));
    const mark = memory.mark(1);
    memory.committed([entry(3)]); // committed while the read waited for its own commit
    // Entry 2 was sent and deleted by another connection before the read.
    memory.resync([entry(1)], true, mark);
    expect(ids(memory.pending(10, 1))).toEqual(['1', '3']);
  });

  it('never hands out a sent entry again, even when a read still finds its row', () => {
    const memory = new CommittedOutbox();
    memory.resync([entry(1), entry(2)], true, memory.mark(0));
    memory.sent([1]);
    expect(ids(memory.pending(10, 0))).toEqual(['2']);
    expect([...memory.toDelete]).toEqual([1]);
    expect(ids(memory.resync([entry(1), entry(2)], true, memory.mark(1)))).toEqual(['2']);
    expect(ids(memory.pending(10, 1))).toEqual(['2']);
  });

  it('records a failed attempt on the entry', () => {
    const memory = new CommittedOutbox();
    memory.resync([entry(1)], true, memory.mark(0));
    memory.failed(1, 'bus unavailable');
    expect(memory.pending(10, 0)).toEqual([
      { ...entry(1), attempts: 1, lastError: 'bus unavailable' },
    ]);
  });

  it('gives up past its size, and a read begun before that does not make it whole', () => {
    const memory = new CommittedOutbox();
    memory.resync([], true, memory.mark(0));
    const mark = memory.mark(0);
    memory.committed(Array.from({ length: 10_001 }, (_, i) => entry(i + 1)));
    expect(memory.pending(10, 0)).toBeUndefined();
    memory.resync([], true, mark);
    expect(memory.pending(10, 0)).toBeUndefined();
    memory.resync([entry(1)], true, memory.mark(0));
    expect(ids(memory.pending(10, 0))).toEqual(['1']);
  });
});
