import { transactionRetryingConflicts } from './conflict-retry';
import { ConcurrencyError, DuplicateError } from './errors';
import type { Store } from './store.port';

/** A store whose transaction runs `outcomes` in turn: an error is thrown, a value is returned. */
function storeFailing(outcomes: readonly unknown[]): { store: Store; calls: () => number } {
  let calls = 0;
  const store = {
    transaction: async () => {
      const outcome = outcomes[calls++];
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  } as unknown as Store;
  return { store, calls: () => calls };
}

describe('transactionRetryingConflicts', () => {
  it('runs the work again after a version conflict or a racing insert', async () => {
    const { store, calls } = storeFailing([
      new ConcurrencyError('counters', 'c1', 1, 2),
      new DuplicateError('counters', 'c1'),
      'done',
    ]);
    await expect(transactionRetryingConflicts(store, async () => 'unused')).resolves.toBe('done');
    expect(calls()).toBe(3);
  });

  it('gives up after the last attempt with the conflict', async () => {
    const conflict = new ConcurrencyError('counters', 'c1', 1, 2);
    const { store, calls } = storeFailing([conflict, conflict, conflict]);
    await expect(transactionRetryingConflicts(store, async () => 'unused', 3)).rejects.toBe(
      conflict,
    );
    expect(calls()).toBe(3);
  });

  it('rethrows any other error at once', async () => {
    const failure = new Error('disk full');
    const { store, calls } = storeFailing([failure, 'never reached']);
    await expect(transactionRetryingConflicts(store, async () => 'unused')).rejects.toBe(failure);
    expect(calls()).toBe(1);
  });
});
