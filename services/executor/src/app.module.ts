import { Module, type DynamicModule } from '@nestjs/common';
import { KILL_SWITCH } from '@leash/kill-switch';
import { ControlModule } from './control/control.module';
import { ExecutionModule, type ExecutionModuleOptions } from './execution';

/** What a launcher may change in the executor it starts: counterfactual replay wraps the tools. */
export type ExecutorOverrides = Pick<ExecutionModuleOptions, 'wrapRegistry'>;

/** The executor service's features. Config and engines are provided around it by startService. */
@Module({})
export class ExecutorModule {
  static forRoot(overrides: ExecutorOverrides = {}): DynamicModule {
    return {
      module: ExecutorModule,
      imports: [
        ControlModule,
        ExecutionModule.forRoot({ killGate: { useExisting: KILL_SWITCH }, ...overrides }),
      ],
    };
  }
}
