import { Module } from '@nestjs/common';
import { catalogSeedProvider } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { ControlModule } from './control/control.module';
import { APPROVALS } from './config';
import { ApprovalGateModule } from './gate/approval-gate.module';

/** The approvals service's features. Config and engines are provided around it by startService. */
@Module({
  imports: [ControlModule, ApprovalGateModule.forRoot()],
  // Each service owns its store, so each seeds its own catalog before its consumers start.
  providers: [catalogSeedProvider({ store: STORE, config: CONFIG, service: APPROVALS })],
})
export class ApprovalsModule {}
