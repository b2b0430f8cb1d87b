import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { BUS, type Bus } from '@leash/bus';
import { ControlChannel, KILL_SWITCH, type KillSwitch } from '@leash/kill-switch';

/**
 * Subscribes this instance to the control topic in its own consumer group
 * (not through @EventPattern, whose group is the service's: a kill must
 * reach every instance). Applies kills and resumes, then acknowledges them.
 */
@Injectable()
export class ControlSubscription implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly channel: ControlChannel;

  constructor(@Inject(BUS) bus: Bus, @Inject(KILL_SWITCH) killSwitch: KillSwitch) {
    this.channel = new ControlChannel({ bus, killSwitch, log: new Logger('KillSwitch') });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.channel.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.channel.stop();
  }
}
