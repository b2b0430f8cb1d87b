import { Global, Module } from '@nestjs/common';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH, KillSwitch } from '@leash/kill-switch';
import { ControlSubscription } from '@leash/kill-switch/nest';
import type { Store } from '@leash/store';
import { PLANNER, type PlannerConfig } from '../config';

/**
 * The kill switch of this instance: `@Inject(KILL_SWITCH) killSwitch: KillSwitch`
 * anywhere in the service (global, so every gate can consult it). Kills in
 * the store are loaded before the app starts listening.
 */
@Global()
@Module({
  providers: [
    {
      provide: KILL_SWITCH,
      useFactory: (store: Store, config: PlannerConfig) =>
        KillSwitch.open({ store, service: PLANNER, instance: config.LEASH_INSTANCE_ID }),
      inject: [STORE, CONFIG],
    },
    ControlSubscription,
  ],
  exports: [KILL_SWITCH],
})
export class ControlModule {}
