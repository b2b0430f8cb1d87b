import { Module, type DynamicModule } from '@nestjs/common';
import { catalogSeedProvider } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { AgentLoopModule, type AgentLoopModuleOptions } from './agent-loop';
import { ControlModule } from './control/control.module';
import { PLANNER } from './config';

/** What a launcher may change in the planner it starts: counterfactual replay wraps the model. */
export type PlannerOverrides = Pick<AgentLoopModuleOptions, 'wrapModel'>;

/** The planner service's features. Config and engines are provided around it by startService. */
@Module({})
export class PlannerModule {
  static forRoot(overrides: PlannerOverrides = {}): DynamicModule {
    return {
      module: PlannerModule,
      imports: [ControlModule, AgentLoopModule.forRoot(overrides)],
      // Each service owns its store, so each seeds its own catalog before its consumers start.
      providers: [
        catalogSeedProvider({ store: STORE, config: CONFIG, service: PLANNER, reportDrift: true }),
      ],
    };
  }
}
