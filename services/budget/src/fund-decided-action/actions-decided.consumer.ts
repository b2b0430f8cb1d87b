import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { FundDecidedActionUseCase } from './fund-decided-action.usecase';

@Controller()
export class ActionsDecidedConsumer {
  constructor(private readonly fundDecidedAction: FundDecidedActionUseCase) {}

  @EventPattern('actions.decided')
  async onDecided(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.decided.v1') return;
    await gateSpan('budget', 'fund', event, () => this.fundDecidedAction.execute({ event }));
  }
}
