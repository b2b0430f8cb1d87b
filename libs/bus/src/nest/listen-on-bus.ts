import {
  Module,
  type DynamicModule,
  type INestMicroservice,
  type LoggerService,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TopicName } from '@leash/contracts';
import type { Bus, SubscribeOptions, Subscription } from '../bus.port';
import { BusModule } from './bus.module';
import { BusServer } from './bus.server';

export interface ListenOnBusOptions {
  readonly bus: Bus;
  /** The consumer group, and the CloudEvents source of what the app publishes. */
  readonly group: string;
  /** The feature module whose @EventPattern consumers take the group's events. */
  readonly module: Type<unknown> | DynamicModule;
  readonly subscribe?: SubscribeOptions;
  /** Default false: specs and benchmarks run quiet. */
  readonly logger?: LoggerService | false;
  /** Default true. False when `module` already provides BusModule (as EnginesModule does). */
  readonly provideBus?: boolean;
}

/** A Nest app consuming the bus; closing it drains its handlers. */
export interface BusListener extends Subscription {
  readonly app: INestMicroservice;
  /** The topics its handlers declared. */
  readonly topics: readonly TopicName[];
}

@Module({})
class ListenerRootModule {}

/**
 * Runs a module's Nest consumers on the bus as the group: the one way a
 * service's events reach its use cases, whether the whole service runs
 * (startService) or only a feature on a spec's engines. Resolves once the
 * group's subscription is in place; a start-up error closes what was opened.
 */
export async function listenOnBus(options: ListenOnBusOptions): Promise<BusListener> {
  const { bus, group } = options;
  const root: DynamicModule = {
    module: ListenerRootModule,
    imports: [
      ...(options.provideBus === false ? [] : [BusModule.forRoot({ bus, source: group })]),
      options.module,
    ],
  };
  let app: INestMicroservice | undefined;
  try {
    app = await NestFactory.createMicroservice(root, {
      strategy: new BusServer({
        bus,
        group,
        ...(options.subscribe ? { subscribe: options.subscribe } : {}),
      }),
      logger: options.logger ?? false,
      // Nest would otherwise abort() the process on a start-up error; the caller decides.
      abortOnError: false,
    });
    const listening = (await app.listen()) as { topics?: readonly TopicName[] } | undefined;
    const started = app;
    let closing: Promise<void> | undefined;
    return {
      group,
      app: started,
      topics: listening?.topics ?? [],
      close() {
        closing ??= started.close();
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    throw error;
  }
}
