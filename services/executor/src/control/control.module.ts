import { Global, Module } from '@nestjs/common';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH, KillSwitch } from '@leash/kill-switch';
import { ControlSubscription, KILL_ROLLBACK } from '@leash/kill-switch/nest';
import type { Store } from '@leash/store';
import { EXECUTOR, type ExecutorConfig } from '../config';
import { RollBackKilledTasksUseCase } from './roll-back-killed-tasks.usecase';

/**
 * The kill switch of this instance: `@Inject(KILL_SWITCH) killSwitch: KillSwitch`
 * anywhere in the service (global, so every gate can consult it). Kills in
 * the store are loaded before the app starts listening. The execution
 * module takes it as its KillGate:
 * `ExecutionModule.forRoot({ killGate: { useExisting: KILL_SWITCH } })`.
 */
@Global()
@Module({
  providers: [
    {
      provide: KILL_SWITCH,
      useFactory: (store: Store, config: ExecutorConfig) =>
        KillSwitch.open({ store, service: EXECUTOR, instance: config.LEASH_INSTANCE_ID }),
      inject: [STORE, CONFIG],
    },
    ControlSubscription,
    RollBackKilledTasksUseCase,
    { provide: KILL_ROLLBACK, useExisting: RollBackKilledTasksUseCase },
  ],
  exports: [KILL_SWITCH],
})
export class ControlModule {}
