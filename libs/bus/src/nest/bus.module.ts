import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Bus } from '../bus.port';
import { BusExceptionFilter } from './bus-exception.filter';
import { BusClient } from './bus.client';
import { EventPublisher } from './event-publisher';
import { BUS, BUS_CLIENT, EVENT_SOURCE } from './tokens';

export interface BusModuleOptions {
  /** Opened by the engines and shared; this module never closes it. */
  readonly bus: Bus;
  /** The CloudEvents source of what this app publishes: the service name. */
  readonly source: string;
}

/**
 * Puts the Bus, an EventPublisher and a BusClient in the container, for the
 * whole app, and the filter that hands handler errors to the bus unchanged.
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
        { provide: BUS_CLIENT, useFactory: (bus: Bus) => new BusClient(bus), inject: [BUS] },
        EventPublisher,
        // Handler errors must reach the bus unchanged: it retries transient ones and dead-letters the rest.
        { provide: APP_FILTER, useClass: BusExceptionFilter },
      ],
      exports: [BUS, EVENT_SOURCE, BUS_CLIENT, EventPublisher],
    };
  }
}
