import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { KillTasksUseCase } from './kill-tasks.usecase';

/**
 * Kills on the control topic, in the planner's consumer group: the tasks in
 * scope end `killed`. (The control module's per-instance subscription applies
 * the kill to this instance's kill switch and acknowledges it.)
 */
@Controller()
export class KillsConsumer {
  constructor(private readonly killTasks: KillTasksUseCase) {}

  @EventPattern('control')
  async onControl(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.control.kill.v1') return;
    await this.killTasks.execute(event.data);
  }
}
