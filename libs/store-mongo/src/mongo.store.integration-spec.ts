import { randomUUID } from 'node:crypto';
import { describeStoreContract, type OpenedStore } from '@leash/contract-suites';
import { describeOnMongo } from '@leash/testing';
import { openMongoStore } from './mongo.store';

/*
 * The store contract against a real MongoDB replica set, unchanged, wherever
 * MONGO_URL names one (docker-compose.yml has one; `.ci/run` runs this when
 * one is reachable). Each test gets a database of its own, dropped after.
 */

/** MONGO_URL with its database replaced by `name`, options kept. */
function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

describeOnMongo('the store on MongoDB', (url) => {
  async function open(location?: string): Promise<OpenedStore> {
    const at = location ?? withDatabase(url, `leash_test_${randomUUID().slice(0, 8)}`);
    const store = await openMongoStore({ url: at, timeoutMs: 5_000 });
    return {
      store,
      location: at,
      async cleanup() {
        await store.close();
        const dropper = await openMongoStore({ url: at, timeoutMs: 5_000 });
        await dropper.dropDatabase();
        await dropper.close();
      },
    };
  }

  describeStoreContract('mongodb', open);
});
