import type { SubscribeOptions } from '@leash/bus';
import type { Store } from '@leash/store';

/**
 * The subscription options that hand a consumer batches of up to `maxEvents`
 * in one transaction of `store` (SubscribeOptions.batch, Store.inOneCommit);
 * undefined when the store has no batches or `maxEvents` is 1. Only for
 * handlers whose every effect goes through that store.
 */
export function storeBatches(
  store: Pick<Store, 'inOneCommit'>,
  maxEvents: number,
): SubscribeOptions | undefined {
  const inOneCommit = store.inOneCommit?.bind(store);
  if (maxEvents <= 1 || !inOneCommit) return undefined;
  return { batch: { maxEvents, scope: (work) => inOneCommit(work) } };
}
