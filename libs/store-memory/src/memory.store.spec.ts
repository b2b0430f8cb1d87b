import { describeStoreContract } from '@leash/contract-suites';
import { MemoryStore, openMemoryStore } from './memory.store';

describeStoreContract('memory', async (location) => {
  const store = await openMemoryStore(location ? { location } : {});
  return {
    store,
    location: store.location,
    async cleanup() {
      await store.close();
      MemoryStore.drop(store.location);
    },
  };
});
