import { ConfigError, defineEnv, loadConfig } from './index';
import { SIGNING_ENV } from './signing.env';

const ENV = defineEnv(SIGNING_ENV);
const SECRET = 'a-secret-of-at-least-thirty-two-bytes!';

describe('the signing key ring', () => {
  it('keeps the order (the first key signs) and secrets that hold a colon whole', () => {
    const config = loadConfig(ENV, {
      env: { LEASH_SIGNING_KEYS: ` k2:${SECRET}:x , k1:${SECRET}` },
    });
    expect(config.LEASH_SIGNING_KEYS).toEqual([
      { id: 'k2', secret: `${SECRET}:x` },
      { id: 'k1', secret: SECRET },
    ]);
  });

  it.each([
    ['k1:short', 'shorter than 32 bytes'],
    [`:${SECRET}`, 'not id:secret'],
    [`k1:${SECRET},k1:${SECRET}`, 'appears twice'],
    [' , ', 'no key'],
  ])('refuses %j without printing it', (value, problem) => {
    let error: unknown;
    try {
      loadConfig(ENV, { env: { LEASH_SIGNING_KEYS: value } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('LEASH_SIGNING_KEYS (secret value hidden)');
    expect((error as Error).message).toContain(problem);
    if (value.includes('short')) expect((error as Error).message).not.toContain('k1:short');
  });
});
