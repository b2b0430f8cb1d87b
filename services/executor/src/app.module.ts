import { Module } from '@nestjs/common';
import { ControlModule } from './control/control.module';

/** The executor service's features. Config and engines are provided around it by startService. */
@Module({ imports: [ControlModule] })
export class ExecutorModule {}
