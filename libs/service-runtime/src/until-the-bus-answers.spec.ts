import { untilTheBusAnswers } from './until-the-bus-answers';

describe('untilTheBusAnswers', () => {
  it('tries again, with growing waits, while the bus does not answer, then returns the start', async () => {
    let up = false;
    let attempts = 0;
    const waits: number[] = [];
    const started = await untilTheBusAnswers(
      async () => {
        attempts += 1;
        if (attempts === 3) up = true;
        if (!up) throw new Error('connect ECONNREFUSED');
        return 'listening';
      },
      {
        bus: { ping: async () => (up ? undefined : Promise.reject(new Error('down'))) },
        onRetry: (_error, delayMs) => waits.push(delayMs),
        firstDelayMs: 1,
        maxDelayMs: 3,
      },
    );
    expect(started).toBe('listening');
    expect(attempts).toBe(3);
    expect(waits).toEqual([1, 2]);
  });

  it('throws at once an error raised while the bus answers: it is not the broker', async () => {
    let attempts = 0;
    const retried: unknown[] = [];
    await expect(
      untilTheBusAnswers(
        async () => {
          attempts += 1;
          throw new Error('@EventPattern names no topic');
        },
        { bus: { ping: async () => undefined }, onRetry: (e) => retried.push(e), firstDelayMs: 1 },
      ),
    ).rejects.toThrow('@EventPattern names no topic');
    expect(attempts).toBe(1);
    expect(retried).toEqual([]);
  });

  it('counts a bus whose check hangs as down', async () => {
    let attempts = 0;
    const started = await untilTheBusAnswers(
      async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('timeout');
        return attempts;
      },
      {
        bus: { ping: () => new Promise<void>(() => undefined) },
        firstDelayMs: 1,
        pingTimeoutMs: 5,
      },
    );
    expect(started).toBe(2);
  });
});
