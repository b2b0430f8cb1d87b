import { Injectable } from '@nestjs/common';
import { EventPublisher } from '@leash/bus';
import { InjectConfig } from '@leash/config';
import { BUDGET, type BudgetConfig } from '../config';
import type { ControlCommand } from './control-command';

/**
 * Acknowledges a kill or resume on the control topic. Stopping and aborting
 * calls in the command's scope is the kill switch's (a later issue); until
 * then nothing is in flight to abort, so `aborted` is 0.
 */
@Injectable()
export class AcknowledgeCommandUseCase {
  constructor(
    private readonly publisher: EventPublisher,
    @InjectConfig() private readonly config: BudgetConfig,
  ) {}

  async execute(command: ControlCommand): Promise<void> {
    const instance = this.config.LEASH_INSTANCE_ID;
    await this.publisher.emit(
      'leash.control.ack.v1',
      {
        commandId: command.data.commandId,
        command: command.type === 'leash.control.kill.v1' ? 'kill' : 'resume',
        service: BUDGET,
        instance,
        aborted: 0,
        appliedAt: new Date().toISOString(),
      },
      // One id per command and instance, so a redelivered command yields a duplicate consumers drop.
      { id: `ack:${command.id}:${BUDGET}:${instance}` },
    );
  }
}
