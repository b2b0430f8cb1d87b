import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { CloseTaskApprovalsUseCase } from './close-task-approvals.usecase';

@Controller()
export class TasksFinishedConsumer {
  private readonly logger = new Logger('approvals:tasks');

  constructor(private readonly closeTaskApprovals: CloseTaskApprovalsUseCase) {}

  @EventPattern('tasks.finished')
  async onFinished(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.tasks.finished.v1') return;
    const closed = await this.closeTaskApprovals.execute({ event });
    if (closed.length > 0) {
      this.logger.log(
        `task ${event.data.taskId} finished (${event.data.status}): cancelled ${closed.join(', ')}`,
      );
    }
  }
}
