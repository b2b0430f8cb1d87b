import { BASE_ENV, loadConfig } from '@leash/config';
import { EngineUnavailableError, openEngines } from './open-engines';

describe('openEngines', () => {
  it('refuses the kafka bus in this build, before opening anything', async () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_BUS: 'kafka', KAFKA_BROKERS: 'k:9092', LEASH_BUS_FILE: '/nonexistent/x/bus.db' },
    });
    const opening = openEngines(config, { source: 'test' });
    await expect(opening).rejects.toThrow(EngineUnavailableError);
    await expect(opening).rejects.toThrow(
      'LEASH_BUS=kafka: the kafka bus adapter is not available in this build; use LEASH_BUS=embedded',
    );
  });

  it('refuses the mongo store in this build', async () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_STORE: 'mongo', MONGO_URL: 'mongodb://db:27017/leash' },
    });
    await expect(openEngines(config, { source: 'test' })).rejects.toThrow(
      'LEASH_STORE=mongo: the mongo store adapter is not available in this build',
    );
  });
});
