import { randomUUID } from 'node:crypto';
import { describeStoreContract, type OpenedStore } from '@leash/contract-suites';
import { describeOnMongo, describeOnMongoWithoutTransactions } from '@leash/testing';
import { StoreError } from '@leash/store';
import { openMongoStore, type MongoStoreOptions } from './mongo.store';
import { startStandaloneServer } from './standalone-server.fixture';

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

/** Opens a store on a database of its own under `url`, dropped by cleanup. */
function opener(url: string, options: Partial<MongoStoreOptions> = {}) {
  return async (location?: string): Promise<OpenedStore> => {
    const at = location ?? withDatabase(url, `leash_test_${randomUUID().slice(0, 8)}`);
    const store = await openMongoStore({ url: at, timeoutMs: 5_000, ...options });
    return {
      store,
      location: at,
      async cleanup() {
        await store.close();
        const dropper = await openMongoStore({ url: at, timeoutMs: 5_000, ...options });
        await dropper.dropDatabase();
        await dropper.close();
      },
    };
  };
}

describeOnMongo('the store on MongoDB', (url) => {
  describeStoreContract('mongodb', opener(url));
});

// FerretDB 1.x has no transactions and no TTL indexes, and its SQLite backend applies a
// filtered update without isolation (two updates from one version both matched, in 1 run of
// 4 here): the cases that need none of these.
describeOnMongoWithoutTransactions(
  'the store on a MongoDB-compatible server without transactions',
  (url) => {
    describeStoreContract(
      'mongodb-compatible, no transactions',
      opener(url, { requireTransactions: false, inboxRetentionMs: null }),
      { transactions: false, atomicUpdates: false },
    );

    it('is refused for a service, which needs transactions', async () => {
      const error = await openMongoStore({ url, timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toMatch(
        /^LEASH_STORE=mongo: the MongoDB server is standalone/,
      );
    });
  },
);

describe('the MongoDB store on a server that cannot run transactions', () => {
  it('refuses a standalone server at start-up, saying what to run instead', async () => {
    const server = await startStandaloneServer();
    try {
      const error = await openMongoStore({ url: server.url, timeoutMs: 5_000 }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toMatch(
        /^LEASH_STORE=mongo: the MongoDB server is standalone, .*replica set.*--replSet rs0/,
      );
      // It asked the server itself, and stopped there: nothing was created.
      expect(server.commands).toContain('hello');
      expect(server.commands).not.toContain('createIndexes');
    } finally {
      await server.close();
    }
  });
});
