import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { AcknowledgeCommandUseCase } from './acknowledge-command.usecase';
import { isControlCommand, type ControlEvent } from './control-command';

@Controller()
export class ControlConsumer {
  constructor(private readonly acknowledge: AcknowledgeCommandUseCase) {}

  @EventPattern('control')
  async onControl(@Payload() event: ControlEvent): Promise<void> {
    // Acknowledgements travel on the same topic; they are for whoever issued the command.
    if (!isControlCommand(event)) return;
    await this.acknowledge.execute(event);
  }
}
