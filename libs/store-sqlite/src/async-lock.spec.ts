import { AsyncLock } from './async-lock';

describe('AsyncLock', () => {
  it('hands the lock over in request order, one holder at a time', async () => {
    const lock = new AsyncLock();
    const order: string[] = [];
    let holders = 0;
    const task = async (name: string) => {
      const release = await lock.acquire();
      holders += 1;
      expect(holders).toBe(1);
      order.push(name);
      await Promise.resolve();
      await new Promise((resolve) => setImmediate(resolve));
      holders -= 1;
      release();
    };
    await Promise.all(['a', 'b', 'c', 'd'].map(task));
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(lock.isHeld).toBe(false);
  });

  it('ignores a second release of the same hold', async () => {
    const lock = new AsyncLock();
    const first = await lock.acquire();
    const second = lock.acquire();
    const third = lock.acquire();
    first();
    first(); // must not release the second holder's lock
    const releaseSecond = await second;
    let thirdAcquired = false;
    void third.then(() => (thirdAcquired = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(thirdAcquired).toBe(false);
    releaseSecond();
    (await third)();
    expect(lock.isHeld).toBe(false);
  });

  it('keeps order under a long queue', async () => {
    const lock = new AsyncLock();
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 5_000 }, async (_, n) => {
        const release = await lock.acquire();
        order.push(n);
        release();
      }),
    );
    expect(order).toEqual(Array.from({ length: 5_000 }, (_, n) => n));
  });
});
