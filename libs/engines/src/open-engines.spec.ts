import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from './open-engines';

describe('openEngines', () => {
  it('refuses the mongo store in this build', async () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_STORE: 'mongo', MONGO_URL: 'mongodb://db:27017/leash' },
    });
    await expect(openEngines(config, { source: 'test' })).rejects.toThrow(
      'LEASH_STORE=mongo: the mongo store adapter is not available in this build',
    );
  });
});
