import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { refreshTenantGauges } from '../ledger/budget-gauges';
import { actionRequestId } from '../fund-decided-action/fund-decided-action.usecase';
import { ReleaseUnrunActionUseCase } from './release-unrun-action.usecase';

@Controller()
export class ActionsRejectedConsumer {
  constructor(
    private readonly releaseUnrunAction: ReleaseUnrunActionUseCase,
    @Inject(STORE) private readonly store: Store,
  ) {}

  @EventPattern('actions.rejected')
  async onRejected(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.rejected.v1') return;
    if (await this.releaseUnrunAction.execute({ event })) {
      await refreshTenantGauges(this.store, actionRequestId(event.data.actionId));
    }
  }
}
