import { Inject, Module, type DynamicModule } from '@nestjs/common';

/** Injection token of the service's parsed, frozen config. */
export const CONFIG = Symbol('leash:config');

/** `@InjectConfig() config: PolicyConfig` */
export const InjectConfig = (): ParameterDecorator & PropertyDecorator => Inject(CONFIG);

/**
 * Hands the config, already parsed by `loadConfig` before Nest starts, to the
 * container. Parsing happens outside Nest so a bad environment stops the
 * process before any engine is opened.
 */
@Module({})
export class LeashConfigModule {
  static forRoot<C extends object>(config: C): DynamicModule {
    if (!Object.isFrozen(config)) {
      throw new Error('LeashConfigModule.forRoot takes the frozen object loadConfig returns');
    }
    return {
      module: LeashConfigModule,
      global: true,
      providers: [{ provide: CONFIG, useValue: config }],
      exports: [CONFIG],
    };
  }
}
