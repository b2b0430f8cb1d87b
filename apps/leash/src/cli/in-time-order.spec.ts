import { InTimeOrder } from './in-time-order';

describe('InTimeOrder', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const at = (ms: number, name: string) => ({ time: new Date(ms).toISOString(), name });

  it('passes on what arrived within the hold sorted by when it happened', () => {
    const out: string[] = [];
    const order = new InTimeOrder<ReturnType<typeof at>>((item) => out.push(item.name), 100);
    order.add(at(3_000, 'ran'));
    order.add(at(1_000, 'proposed'));
    order.add(at(2_000, 'allowed'));
    expect(out).toEqual([]);
    jest.advanceTimersByTime(99);
    expect(out).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(out).toEqual(['proposed', 'allowed', 'ran']);
    // A later batch waits for its own hold.
    order.add(at(5_000, 'finished'));
    order.add(at(4_000, 'answered'));
    jest.advanceTimersByTime(100);
    expect(out.slice(3)).toEqual(['answered', 'finished']);
  });

  it('keeps arrival order among equal times, and flushes at once on demand', () => {
    const out: string[] = [];
    const order = new InTimeOrder<ReturnType<typeof at>>((item) => out.push(item.name), 100);
    order.add(at(1_000, 'first'));
    order.add(at(1_000, 'second'));
    order.flush();
    expect(out).toEqual(['first', 'second']);
    jest.advanceTimersByTime(1_000);
    expect(out).toEqual(['first', 'second']);
  });
});
