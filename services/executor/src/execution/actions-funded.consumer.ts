import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BusContext } from '@leash/bus/nest';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { executableEvent } from './executable-event';
import { RunActionUseCase } from './run-action/run-action.usecase';

@Controller()
export class ActionsFundedConsumer {
  constructor(private readonly runAction: RunActionUseCase) {}

  /** Route allow only: a funded action routed to approve goes through approvals first. */
  @EventPattern('actions.funded')
  async onFunded(@Payload() event: AnyEnvelope, @Ctx() context: BusContext): Promise<void> {
    const action = executableEvent(event);
    if (!action) return;
    await gateSpan('executor', 'run', action, () =>
      this.runAction.execute({ event: action, signal: context.getSignal() }),
    );
  }
}
