import { Module, type DynamicModule } from '@nestjs/common';
import { BusModule } from '@leash/bus/nest';
import type { Engines } from '@leash/engines';

/** Injection token of the Store. The Bus is under `BUS` from @leash/bus. */
export const STORE = Symbol('leash:store');

export { BUS } from '@leash/bus/nest';

export interface EnginesModuleOptions {
  /** Opened once by the caller, who also closes them; a launcher shares them between apps. */
  readonly engines: Engines;
  /** The CloudEvents source of what the app publishes: the service name. */
  readonly source: string;
}

/** Puts the engines in the app's container: BUS and STORE. */
@Module({})
export class EnginesModule {
  static forRoot(options: EnginesModuleOptions): DynamicModule {
    const bus = BusModule.forRoot({ bus: options.engines.bus, source: options.source });
    return {
      module: EnginesModule,
      global: true,
      imports: [bus],
      providers: [{ provide: STORE, useValue: options.engines.store }],
      exports: [bus, STORE],
    };
  }
}
