import { Module } from '@nestjs/common';
import { ControlModule } from './control/control.module';

/** The approvals service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule] })
export class ApprovalsModule {}
