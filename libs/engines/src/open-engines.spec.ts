import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, storeFileOf } from './open-engines';

describe('openEngines', () => {
  it('refuses the mongo store in this build', async () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_STORE: 'mongo', MONGO_URL: 'mongodb://db:27017/leash' },
    });
    await expect(openEngines(config, { source: 'test' })).rejects.toThrow(
      'LEASH_STORE=mongo: the mongo store adapter is not available in this build',
    );
  });

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
