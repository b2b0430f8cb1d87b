import { Module } from '@nestjs/common';
import { catalogSeedProvider } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { ControlModule } from './control/control.module';
import { POLICY } from './config';
import { DecisionsModule } from './decisions';

/** The policy service's features. Config and engines are provided around it by startService. */
@Module({
  imports: [ControlModule, DecisionsModule.forRoot()],
  // Each service owns its store, so each seeds its own catalog before its consumers start.
  providers: [catalogSeedProvider({ store: STORE, config: CONFIG, service: POLICY })],
})
export class PolicyModule {}
