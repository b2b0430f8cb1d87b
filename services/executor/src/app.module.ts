import { Module } from '@nestjs/common';
import { KILL_SWITCH } from '@leash/kill-switch';
import { ControlModule } from './control/control.module';
import { ExecutionModule } from './execution';

/** The executor service's features. Config and engines are provided around it by startService. */
@Module({
  imports: [ControlModule, ExecutionModule.forRoot({ killGate: { useExisting: KILL_SWITCH } })],
})
export class ExecutorModule {}
