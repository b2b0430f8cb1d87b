import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Bus } from '../bus.port';
import { BusExceptionFilter } from './bus-exception.filter';
import { BUS, EVENT_SOURCE } from './tokens';

export interface BusModuleOptions {
  /** Opened by the engines and shared; this module never closes it. */
  readonly bus: Bus;
  /** The CloudEvents source of what this app publishes: the service name. */
  readonly source: string;
}

/**
 * Puts the Bus and the app's event source in the container, for the whole app,
 * and the filter that hands handler errors to the bus unchanged.
 */
@Module({})
export class BusModule {
  static forRoot(options: BusModuleOptions): DynamicModule {
    return {
      module: BusModule,
      global: true,
      providers: [
        { provide: BUS, useValue: options.bus },
        { provide: EVENT_SOURCE, useValue: options.source },
        // Handler errors must reach the bus unchanged: it retries transient ones and dead-letters the rest.
        { provide: APP_FILTER, useClass: BusExceptionFilter },
      ],
      exports: [BUS, EVENT_SOURCE],
    };
  }
}
