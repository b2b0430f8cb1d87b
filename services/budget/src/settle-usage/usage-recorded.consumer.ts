import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { SettleUsageUseCase } from './settle-usage.usecase';

@Controller()
export class UsageRecordedConsumer {
  constructor(private readonly settleUsage: SettleUsageUseCase) {}

  @EventPattern('usage.recorded')
  async onUsage(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.usage.recorded.v1') return;
    await this.settleUsage.execute({ event });
  }
}
