import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { BusContext } from '@leash/bus/nest';
import type { AnyEnvelope, EventTypeOn } from '@leash/contracts';
import { gateSpan } from '@leash/telemetry';
import { decideActionCommand } from './decide-action/decide-action.command';
import { DecideActionUseCase } from './decide-action/decide-action.usecase';

type ProposedEvent = Extract<AnyEnvelope, { type: EventTypeOn<'actions.proposed'> }>;

/** Hands each proposal to the use case; the bus has validated it, the use case decides it. */
@Controller()
export class ActionsProposedConsumer {
  private readonly logger = new Logger('decisions');

  constructor(private readonly decideAction: DecideActionUseCase) {}

  @EventPattern('actions.proposed')
  async onProposed(@Payload() event: ProposedEvent, @Ctx() context: BusContext): Promise<void> {
    // The decision's attributes (route, policy version, signer) come from what the use case enqueues.
    await gateSpan('policy', 'decide', event, async () => {
      const outcome = await this.decideAction.execute(
        decideActionCommand(event, context.getHeaders()),
      );
      if (outcome.kind === 'duplicate') this.logger.debug(outcome.reason);
    });
  }
}
