import { Module } from '@nestjs/common';
import { catalogSeedProvider } from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { ControlModule } from './control/control.module';
import { BUDGET } from './config';
import { LedgerModule } from './ledger';

/** The budget service's features. Config and engines are provided around it by startService. */
@Module({
  imports: [ControlModule, LedgerModule.forRoot()],
  // Each service owns its store, so each seeds its own catalog before its consumers start.
  providers: [catalogSeedProvider({ store: STORE, config: CONFIG, service: BUDGET })],
})
export class BudgetModule {}
