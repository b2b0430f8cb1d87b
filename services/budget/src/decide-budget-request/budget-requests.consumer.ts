import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { BusContext } from '@leash/bus/nest';
import type { AnyEnvelope } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { TenantGauges } from '../ledger/budget-gauges';
import { DecideBudgetRequestUseCase } from './decide-budget-request.usecase';

@Controller()
export class BudgetRequestsConsumer {
  constructor(
    private readonly decideBudgetRequest: DecideBudgetRequestUseCase,
    private readonly gauges: TenantGauges,
  ) {}

  // Nest types extra handler arguments as unknown; the bus transport passes a BusContext.
  @EventPattern('budget.requests')
  async onRequest(@Payload() event: AnyEnvelope, @Ctx() context: unknown): Promise<void> {
    if (event.type !== 'leash.budget.requested.v1') return;
    const attempt = context instanceof BusContext ? context.getAttempt() : 1;
    await gateSpan('budget', 'reserve', event, () =>
      this.decideBudgetRequest.execute({ event, attempt }),
    );
    // The reservation id is the request id.
    this.gauges.note(event.tenantId, event.data.requestId);
  }
}
