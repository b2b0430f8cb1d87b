import { Module } from '@nestjs/common';
import { AcknowledgeCommandUseCase } from './acknowledge-command.usecase';
import { ControlConsumer } from './control.consumer';

@Module({
  controllers: [ControlConsumer],
  providers: [AcknowledgeCommandUseCase],
})
export class ControlModule {}
