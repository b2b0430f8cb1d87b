import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { RequestApprovalUseCase } from './request-approval.usecase';

@Controller()
export class ActionsFundedConsumer {
  constructor(private readonly requestApproval: RequestApprovalUseCase) {}

  @EventPattern('actions.funded')
  async onFunded(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.funded.v1') return;
    await this.requestApproval.execute({ event });
  }
}
