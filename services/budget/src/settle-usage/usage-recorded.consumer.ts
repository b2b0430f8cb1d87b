import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { TenantGauges } from '../ledger/budget-gauges';
import { SettleUsageUseCase } from './settle-usage.usecase';

@Controller()
export class UsageRecordedConsumer {
  constructor(
    private readonly settleUsage: SettleUsageUseCase,
    private readonly gauges: TenantGauges,
  ) {}

  @EventPattern('usage.recorded')
  async onUsage(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.usage.recorded.v1') return;
    await gateSpan('budget', 'settle', event, () => this.settleUsage.execute({ event }));
    this.gauges.note(event.tenantId, event.data.reservationId);
  }
}
