import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { BusContext } from '@leash/bus/nest';
import type { AnyEnvelope } from '@leash/contracts';
import { invokeAgentForEvent } from '@leash/telemetry';
import { CallModelUseCase } from './call-model.usecase';

@Controller()
export class BudgetDecisionsConsumer {
  constructor(private readonly callModel: CallModelUseCase) {}

  @EventPattern('budget.decisions')
  async onDecision(@Payload() event: AnyEnvelope, @Ctx() context: BusContext): Promise<void> {
    if (event.type !== 'leash.budget.decided.v1') return;
    await invokeAgentForEvent(event, () =>
      this.callModel.execute({
        event,
        attempt: context.getAttempt(),
        signal: context.getSignal(),
      }),
    );
  }
}
