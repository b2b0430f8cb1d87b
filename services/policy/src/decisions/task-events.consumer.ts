import { Controller, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope, EventTypeOn } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { ForgetTaskUseCase } from './forget-task/forget-task.usecase';
import { RecordActionOutcomeUseCase } from './record-action-outcome/record-action-outcome.usecase';
import { RecordTaskInputUseCase } from './record-task-input/record-task-input.usecase';

type TaskEvent = Extract<AnyEnvelope, { type: EventTypeOn<'tasks.requested' | 'tasks.finished'> }>;
type OutcomeEvent = Extract<
  AnyEnvelope,
  { type: EventTypeOn<'actions.completed' | 'actions.rejected'> }
>;

/** Hands what the gate must see of a task (its input, tool outputs, its end) to the taint record's use cases. */
@Controller()
export class TaskEventsConsumer {
  private readonly logger = new Logger('decisions');

  constructor(
    private readonly recordTaskInput: RecordTaskInputUseCase,
    private readonly recordActionOutcome: RecordActionOutcomeUseCase,
    private readonly forgetTask: ForgetTaskUseCase,
  ) {}

  @EventPattern('tasks.requested')
  async onRequested(@Payload() event: TaskEvent): Promise<void> {
    if (event.type !== 'leash.tasks.requested.v1') return;
    await gateSpan('policy', 'record_input', event, async () => {
      const released = await this.recordTaskInput.execute({ event });
      if (released.length > 0) this.logger.debug(`decided ${released.length} waiting proposals`);
    });
  }

  @EventPattern('actions.completed')
  async onCompleted(@Payload() event: OutcomeEvent): Promise<void> {
    await this.onOutcome(event);
  }

  @EventPattern('actions.rejected')
  async onRejected(@Payload() event: OutcomeEvent): Promise<void> {
    await this.onOutcome(event);
  }

  @EventPattern('tasks.finished')
  async onFinished(@Payload() event: TaskEvent): Promise<void> {
    if (event.type !== 'leash.tasks.finished.v1') return;
    await this.forgetTask.execute({ event });
  }

  private async onOutcome(event: OutcomeEvent): Promise<void> {
    await gateSpan('policy', 'record_outcome', event, async () => {
      const released = await this.recordActionOutcome.execute({ event });
      if (released.length > 0) this.logger.debug(`decided ${released.length} waiting proposals`);
    });
  }
}
