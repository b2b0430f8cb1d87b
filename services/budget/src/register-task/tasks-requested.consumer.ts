import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { RegisterTaskUseCase } from './register-task.usecase';

@Controller()
export class TasksRequestedConsumer {
  constructor(private readonly registerTask: RegisterTaskUseCase) {}

  @EventPattern('tasks.requested')
  async onTask(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.tasks.requested.v1') return;
    await gateSpan('budget', 'register_task', event, () => this.registerTask.execute({ event }));
  }
}
