import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { BusContext } from '@leash/bus/nest';
import type { AnyEnvelope } from '@leash/contracts';
import { invokeAgentForEvent } from '@leash/telemetry';
import { StartTaskUseCase } from './start-task.usecase';

@Controller()
export class TasksRequestedConsumer {
  constructor(private readonly startTask: StartTaskUseCase) {}

  @EventPattern('tasks.requested')
  async onRequested(@Payload() event: AnyEnvelope, @Ctx() context: BusContext): Promise<void> {
    if (event.type !== 'leash.tasks.requested.v1') return;
    await invokeAgentForEvent(event, () =>
      this.startTask.execute({ event, attempt: context.getAttempt() }),
    );
  }
}
