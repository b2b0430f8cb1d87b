import { Module } from '@nestjs/common';
import { ControlModule } from './control/control.module';
import { DecisionsModule } from './decisions';

/** The policy service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule, DecisionsModule.forRoot()] })
export class PolicyModule {}
