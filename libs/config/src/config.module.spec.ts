import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BASE_ENV, type BaseConfig } from './base.env';
import { CONFIG, InjectConfig, LeashConfigModule } from './config.module';
import { loadConfig } from './env-spec';

@Injectable()
class NeedsConfig {
  constructor(@InjectConfig() readonly config: BaseConfig) {}
}

describe('LeashConfigModule', () => {
  it('injects the parsed config everywhere in the app', async () => {
    const config = loadConfig(BASE_ENV, { env: { LEASH_PARTITIONS: '3' } });
    const moduleRef = await Test.createTestingModule({
      imports: [LeashConfigModule.forRoot(config)],
      providers: [NeedsConfig],
    }).compile();
    expect(moduleRef.get(CONFIG)).toBe(config);
    expect(moduleRef.get(NeedsConfig).config.LEASH_PARTITIONS).toBe(3);
  });

  it('takes only the frozen result of loadConfig, so nothing parses the environment twice', () => {
    expect(() => LeashConfigModule.forRoot({ LEASH_BUS: 'embedded' })).toThrow(
      'takes the frozen object loadConfig returns',
    );
  });
});
