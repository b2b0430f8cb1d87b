import { Module } from '@nestjs/common';
import { AgentLoopModule } from './agent-loop';
import { ControlModule } from './control/control.module';

/** The planner service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule, AgentLoopModule.forRoot()] })
export class PlannerModule {}
