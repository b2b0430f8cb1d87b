import { ConcurrencyError, DuplicateError } from './errors';
import type { Store, Transaction } from './store.port';

const MAX_ATTEMPTS = 10;

/**
 * Runs `work` in a store transaction, again when a concurrent writer got
 * there first (a version conflict or a racing insert). The work must re-read
 * everything it decides on, so each retry decides on fresh state.
 */
export async function transactionRetryingConflicts<R>(
  store: Store,
  work: (tx: Transaction) => Promise<R>,
  maxAttempts = MAX_ATTEMPTS,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.transaction(work);
    } catch (error) {
      const conflict = error instanceof ConcurrencyError || error instanceof DuplicateError;
      if (!conflict || attempt >= maxAttempts) throw error;
    }
  }
}
