import type { Envelope } from '@leash/contracts';
import { transactionRetryingConflicts } from '@leash/store';
import { actionRequestId } from '../fund-decided-action/fund-decided-action.usecase';
import { NOTHING_SPENT } from '../ledger/budget-rules';
import { BUDGET_SOURCE, CONSUMERS, systemClock, type LedgerDeps } from '../ledger/ledger';
import { closeReservation } from '../ledger/ledger-book';
import { BudgetReservation } from '../ledger/ledger.aggregates';

export interface ReleaseUnrunActionCommand {
  readonly event: Envelope<'leash.actions.rejected.v1'>;
}

/**
 * The approvals gate's rejections of a request it had put to reviewers: the
 * action was never authorized, so it never reached the executor. Its other
 * refusals (a forged or expired decision, a kill) may concern an action
 * whose genuine copy is on its way, and keep the charge at the deadline.
 */
const NEVER_RAN = new Set(['approval_rejected', 'approval_expired', 'edited', 'task_finished']);

/**
 * Frees the reservation of a funded action that reviewers stopped: rejected
 * or edited by a reviewer, expired unanswered, or cancelled with its task.
 * Nothing was spent; before, the reservation held its call, count and amount
 * against the caps until its deadline and was then charged in full, so a
 * rejected $9,000 order used up $9,000 of the day's cap. An executor refusal
 * keeps the conservative charge at the deadline. The rejection is trusted as
 * usage.recorded is: both come from the services on the bus. Idempotent:
 * only a reservation still `reserved` is released.
 */
export class ReleaseUnrunActionUseCase {
  constructor(private readonly deps: Pick<LedgerDeps, 'store' | 'clock' | 'source'>) {}

  /** True when a reservation was released. */
  execute({ event }: ReleaseUnrunActionCommand): Promise<boolean> {
    const { gate, code } = event.data;
    if (gate !== 'approvals' || !NEVER_RAN.has(code) || event.taskId === undefined) {
      return Promise.resolve(false);
    }
    const taskId = event.taskId;
    const now = (this.deps.clock ?? systemClock).now();
    return transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.actionsRejected, event.id))) return false;
      const stored = await tx
        .repository(BudgetReservation)
        .get(actionRequestId(event.data.actionId));
      if (!stored || stored.doc.status !== 'reserved' || stored.doc.taskId !== taskId) return false;
      if (event.tenantId !== undefined && stored.doc.tenantId !== event.tenantId) return false;
      const source = this.deps.source ?? BUDGET_SOURCE;
      await closeReservation(tx, source, now, stored, NOTHING_SPENT, 'released');
      return true;
    });
  }
}
