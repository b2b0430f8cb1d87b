import { Module } from '@nestjs/common';
import { ControlModule } from './control/control.module';
import { LedgerModule } from './ledger';

/** The budget service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule, LedgerModule.forRoot()] })
export class BudgetModule {}
