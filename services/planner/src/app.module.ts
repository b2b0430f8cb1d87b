import { Module } from '@nestjs/common';
import { catalogSeedProvider } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { AgentLoopModule } from './agent-loop';
import { ControlModule } from './control/control.module';
import { PLANNER } from './config';

/** The planner service's features. Config and engines are provided around it by startService. */
@Module({
  imports: [ControlModule, AgentLoopModule.forRoot()],
  // Each service owns its store, so each seeds its own catalog before its consumers start.
  providers: [
    catalogSeedProvider({ store: STORE, config: CONFIG, service: PLANNER, reportDrift: true }),
  ],
})
export class PlannerModule {}
