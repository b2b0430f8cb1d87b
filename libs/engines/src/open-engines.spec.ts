import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { mongoDatabaseOf, openEngines, relayErrorLogger, storeFileOf } from './open-engines';

describe('openEngines', () => {
  it('refuses a store directory without an owner, before opening anything', async () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_STORE_DIR: '/nonexistent/stores', LEASH_BUS_FILE: '/nonexistent/bus.db' },
    });
    await expect(openEngines(config, { source: 'leash' })).rejects.toThrow(
      /LEASH_STORE_DIR gives each service a store of its own; .* set LEASH_STORE_FILE instead/,
    );
  });

  it('opens the store in memory when a spec asks, whatever the store variables say, and opens no file', async () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_STORE_FILE: '/nonexistent/store.db', LEASH_BUS_FILE: ':memory:' },
    });
    const engines = await openEngines(config, { source: 'test', memoryStore: true });
    try {
      expect(engines.store.system).toBe('memory');
      expect(engines.location.store).toBe('memory');
      await expect(engines.store.ping()).resolves.toBeUndefined();
    } finally {
      await engines.close();
    }
  });
});

describe('storeFileOf', () => {
  it("is each owner's file in LEASH_STORE_DIR, else LEASH_STORE_FILE whoever asks", () => {
    const dir = loadConfig(BASE_ENV, { env: { LEASH_STORE_DIR: 'run/stores' } });
    expect(storeFileOf(dir, 'planner')).toBe(join('run/stores', 'planner.db'));
    expect(storeFileOf(dir, 'audit')).toBe(join('run/stores', 'audit.db'));
    const one = loadConfig(BASE_ENV, { env: { LEASH_STORE_FILE: 'one.db' } });
    expect(storeFileOf(one, 'planner')).toBe('one.db');
    expect(storeFileOf(one)).toBe('one.db');
  });
});

describe('mongoDatabaseOf', () => {
  const url = 'mongodb://leash:secret@db-0:27017,db-1:27017/orders?replicaSet=rs0&tls=true';

  it("is MONGO_URL's database, or each owner's own beside it, options kept, credentials never shown", () => {
    expect(
      mongoDatabaseOf({ MONGO_URL: url, MONGO_DATABASE_PER_SERVICE: false }, 'budget'),
    ).toEqual({
      url,
      where: 'db-0:27017,db-1:27017/orders',
    });
    const own = mongoDatabaseOf({ MONGO_URL: url, MONGO_DATABASE_PER_SERVICE: true }, 'budget');
    expect(own.url).toBe(url.replace('/orders?', '/orders_budget?'));
    expect(own.where).toBe('db-0:27017,db-1:27017/orders_budget');
    expect(
      mongoDatabaseOf(
        { MONGO_URL: 'mongodb://db:27017', MONGO_DATABASE_PER_SERVICE: true },
        'audit',
      ).where,
    ).toBe('db:27017/leash_audit');
  });

  it('refuses a database per service without an owner, and no URL', () => {
    expect(() => mongoDatabaseOf({ MONGO_URL: url, MONGO_DATABASE_PER_SERVICE: true })).toThrow(
      /a database of its own; this process runs on one store/,
    );
    expect(() =>
      mongoDatabaseOf({ MONGO_URL: undefined, MONGO_DATABASE_PER_SERVICE: false }),
    ).toThrow('LEASH_STORE=mongo needs MONGO_URL');
  });
});

describe('relayErrorLogger', () => {
  it('says what the relay could not publish, once per interval per message', () => {
    const lines: string[] = [];
    let now = 0;
    const log = relayErrorLogger(
      (line) => lines.push(line),
      10_000,
      () => now,
    );
    log(new Error('connect ECONNREFUSED'));
    log(new Error('connect ECONNREFUSED'));
    log(new Error('topic is unknown'));
    now = 10_001;
    log(new Error('connect ECONNREFUSED'));
    expect(lines).toEqual([
      'the outbox relay could not publish (it retries): connect ECONNREFUSED',
      'the outbox relay could not publish (it retries): topic is unknown',
      'the outbox relay could not publish (it retries): connect ECONNREFUSED',
    ]);
  });
});
