import type { Envelope } from '@leash/contracts';
import type { ParkedProposal } from '../decisions.aggregates';
import type { DecideActionUseCase, DecisionOutcome } from '../decide-action/decide-action.usecase';

/**
 * Decides the proposals a record change let through, oldest first. Run after
 * the change commits; a crash in between is repaired by the redelivery of
 * the event that changed the record, which lists them again.
 */
export async function decideReleased(
  decideAction: Pick<DecideActionUseCase, 'releaseParked'>,
  released: readonly ParkedProposal[],
): Promise<DecisionOutcome[]> {
  const outcomes: DecisionOutcome[] = [];
  for (const parked of released) {
    outcomes.push(
      await decideAction.releaseParked({
        event: parked.event as unknown as Envelope<'leash.actions.proposed.v1'>,
        headers: parked.headers,
      }),
    );
  }
  return outcomes;
}
