import { Global, Module } from '@nestjs/common';
import { releaseApplierProvider } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH, KillSwitch } from '@leash/kill-switch';
import { CONTROL_EXTENSION, ControlSubscription } from '@leash/kill-switch/nest';
import type { Store } from '@leash/store';
import { BUDGET, type BudgetConfig } from '../config';

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
      useFactory: (store: Store, config: BudgetConfig) =>
        KillSwitch.open({ store, service: BUDGET, instance: config.LEASH_INSTANCE_ID }),
      inject: [STORE, CONFIG],
    },
    ControlSubscription,
    // Agent releases ride the control topic: this service's catalog applies them.
    releaseApplierProvider({
      provide: CONTROL_EXTENSION,
      store: STORE,
      config: CONFIG,
      service: BUDGET,
    }),
  ],
  exports: [KILL_SWITCH],
})
export class ControlModule {}
