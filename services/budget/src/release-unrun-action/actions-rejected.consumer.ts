import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AnyEnvelope } from '@leash/contracts';
import { TenantGauges } from '../ledger/budget-gauges';
import { actionRequestId } from '../fund-decided-action/fund-decided-action.usecase';
import { ReleaseUnrunActionUseCase } from './release-unrun-action.usecase';

@Controller()
export class ActionsRejectedConsumer {
  constructor(
    private readonly releaseUnrunAction: ReleaseUnrunActionUseCase,
    private readonly gauges: TenantGauges,
  ) {}

  @EventPattern('actions.rejected')
  async onRejected(@Payload() event: AnyEnvelope): Promise<void> {
    if (event.type !== 'leash.actions.rejected.v1') return;
    if (await this.releaseUnrunAction.execute({ event })) {
      this.gauges.note(event.tenantId, actionRequestId(event.data.actionId));
    }
  }
}
