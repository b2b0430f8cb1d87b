import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { gateSpan } from '@leash/telemetry';
import { refreshTenantGauges } from '../ledger/budget-gauges';
import { SettleUsageUseCase } from './settle-usage.usecase';

@Controller()
export class UsageRecordedConsumer {
  constructor(
    private readonly settleUsage: SettleUsageUseCase,
    @Inject(STORE) private readonly store: Store,
  ) {}

  @EventPattern('usage.recorded')
  async onUsage(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.usage.recorded.v1') return;
    await gateSpan('budget', 'settle', event, () => this.settleUsage.execute({ event }));
    await refreshTenantGauges(this.store, event.data.reservationId);
  }
}
