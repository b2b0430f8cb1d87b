import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BusContext } from '@leash/bus/nest';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { executableEvent } from './executable-event';
import { RunActionUseCase } from './run-action/run-action.usecase';

@Controller()
export class ActionsAuthorizedConsumer {
  constructor(private readonly runAction: RunActionUseCase) {}

  @EventPattern('actions.authorized')
  async onAuthorized(@Payload() event: AnyEnvelope, @Ctx() context: BusContext): Promise<void> {
    const action = executableEvent(event);
    if (!action) return;
    await gateSpan('executor', 'run', action, () =>
      this.runAction.execute({ event: action, signal: context.getSignal() }),
    );
  }
}
