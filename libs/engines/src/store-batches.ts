import type { BatchOptions, SubscribeOptions } from '@leash/bus';
import type { Store } from '@leash/store';

/**
 * The subscription options that hand a consumer batches of up to `maxEvents`
 * in one transaction of `store` (SubscribeOptions.batch, Store.inOneCommit),
 * each transaction taking events for at most `maxMs` (default 10); undefined
 * when the store has no batches or `maxEvents` is 1. Only for handlers whose
 * every effect goes through that store.
 */
export function storeBatches(
  store: Pick<Store, 'inOneCommit'>,
  maxEvents: number,
  options: Pick<BatchOptions, 'maxMs'> = {},
): SubscribeOptions | undefined {
  const inOneCommit = store.inOneCommit?.bind(store);
  if (maxEvents <= 1 || !inOneCommit) return undefined;
  return { batch: { maxEvents, ...options, scope: (work) => inOneCommit(work) } };
}
