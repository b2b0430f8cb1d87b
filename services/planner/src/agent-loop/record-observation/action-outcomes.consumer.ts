import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { invokeAgentForEvent } from '@leash/telemetry';
import { RecordObservationUseCase } from './record-observation.usecase';

/** Results and rejections of proposed actions: both are observations for the model. */
@Controller()
export class ActionOutcomesConsumer {
  constructor(private readonly recordObservation: RecordObservationUseCase) {}

  @EventPattern('actions.completed')
  async onCompleted(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.completed.v1') return;
    await invokeAgentForEvent(event, () => this.recordObservation.execute({ event }));
  }

  @EventPattern('actions.rejected')
  async onRejected(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.rejected.v1') return;
    await invokeAgentForEvent(event, () => this.recordObservation.execute({ event }));
  }
}
