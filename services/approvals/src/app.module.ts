import { Module } from '@nestjs/common';
import { ControlModule } from './control/control.module';
import { ApprovalGateModule } from './gate';

/** The approvals service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule, ApprovalGateModule.forRoot()] })
export class ApprovalsModule {}
