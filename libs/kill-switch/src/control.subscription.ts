import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Bus } from '@leash/bus';
import { BUS } from '@leash/bus/nest';
import type { KillV1 } from '@leash/contracts';
import { ControlChannel, type ControlExtension } from './control-channel';
import { KILL_SWITCH, type KillSwitch } from './kill-switch';

/** Undoes the work of a kill that asks for a rollback; only the executor provides one. */
export interface KillRollback {
  execute(kill: KillV1): Promise<void>;
}
export const KILL_ROLLBACK = Symbol('KILL_ROLLBACK');

/** The service's handler of the control topic's other events (releases); see ControlExtension. */
export const CONTROL_EXTENSION = Symbol('CONTROL_EXTENSION');

/**
 * The Nest side of a service's control channel: subscribes this instance to
 * the control topic in its own consumer group (not through @EventPattern,
 * whose group is the service's: a kill must reach every instance), applies
 * kills and resumes, acknowledges them, and hands a rollback to KILL_ROLLBACK
 * where the service provides one. Every service's control module lists it.
 */
@Injectable()
export class ControlSubscription implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly channel: ControlChannel;

  constructor(
    @Inject(BUS) bus: Bus,
    @Inject(KILL_SWITCH) killSwitch: KillSwitch,
    @Optional() @Inject(KILL_ROLLBACK) rollBack?: KillRollback,
    @Optional() @Inject(CONTROL_EXTENSION) extension?: ControlExtension,
  ) {
    this.channel = new ControlChannel({
      bus,
      killSwitch,
      log: new Logger('KillSwitch'),
      ...(rollBack ? { onRollback: (kill: KillV1) => rollBack.execute(kill) } : {}),
      ...(extension ? { extension } : {}),
    });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.channel.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.channel.stop();
  }
}
