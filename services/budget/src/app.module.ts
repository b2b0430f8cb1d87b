import { Module } from '@nestjs/common';
import { ControlModule } from './control/control.module';

/** The budget service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule] })
export class BudgetModule {}
