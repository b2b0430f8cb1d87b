import { createEnvelope, type Envelope } from '@leash/contracts';
import { rejectionFields, type ActionIdentity } from '@leash/signing';
import { transactionRetryingConflicts, type Transaction } from '@leash/store';
import { actionRequestId } from '../fund-decided-action/fund-decided-action.usecase';
import { NOTHING_SPENT } from '../ledger/budget-rules';
import { systemClock } from '@leash/clock';
import { BUDGET_SOURCE, CONSUMERS, type LedgerDeps } from '../ledger/ledger';
import { closeReservation } from '../ledger/ledger-book';
import { BudgetReservation, type BudgetReservationDoc } from '../ledger/ledger.aggregates';

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
 * keeps the conservative charge at the deadline.
 *
 * Anything on the bus can claim to be the approvals gate, so the rejection
 * must carry the gate's signature over the action (as this budget funded
 * it) and the code, checked with the approvals public keys. One that does
 * not is refused: the reservation holds, and the refusal goes out on
 * actions.rejected (gate budget, invalid_signature) for the audit.
 * Idempotent: only a reservation still `reserved` is released.
 */
export class ReleaseUnrunActionUseCase {
  constructor(private readonly deps: Pick<LedgerDeps, 'store' | 'clock' | 'source' | 'verifier'>) {}

  /** True when a reservation was released. */
  execute({ event }: ReleaseUnrunActionCommand): Promise<boolean> {
    const { gate, code } = event.data;
    if (gate !== 'approvals' || !NEVER_RAN.has(code) || event.taskId === undefined) {
      return Promise.resolve(false);
    }
    const taskId = event.taskId;
    const now = (this.deps.clock ?? systemClock).now();
    const source = this.deps.source ?? BUDGET_SOURCE;
    return transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.actionsRejected, event.id))) return false;
      const stored = await tx
        .repository(BudgetReservation)
        .get(actionRequestId(event.data.actionId));
      // No action this budget funded: nothing to free, and nothing to check the signature against.
      if (!stored) return false;
      const refusal = this.refusalOf(event, stored.doc);
      if (refusal !== undefined) {
        await refuse(tx, event, refusal, source, now);
        return false;
      }
      if (stored.doc.status !== 'reserved' || stored.doc.taskId !== taskId) return false;
      if (event.tenantId !== undefined && stored.doc.tenantId !== event.tenantId) return false;
      await closeReservation(tx, source, now, stored, NOTHING_SPENT, 'released');
      return true;
    });
  }

  /** Why the rejection is not the approvals gate's word about this action; undefined when it is. */
  private refusalOf(
    event: Envelope<'leash.actions.rejected.v1'>,
    reservation: BudgetReservationDoc,
  ): string | undefined {
    const { signed, code } = event.data;
    if (!signed) return 'it carries no signature of the approvals gate';
    const action = fundedActionOf(reservation);
    if (!action) return 'the budget funded no action under this id';
    // The action as funded, not as the rejection names it: a signature over another action frees nothing here.
    const result = this.deps.verifier.verify(rejectionFields(action, code), signed);
    // A genuine rejection delivered late still tells the truth: the action never ran.
    if (result.ok || result.failure === 'expired') return undefined;
    return `its signature ${result.reason} (${result.failure})`;
  }
}

/** The action a reservation funded, from the actions.funded event it answered with. */
function fundedActionOf(reservation: BudgetReservationDoc): ActionIdentity | undefined {
  const envelope = reservation.answer.envelope as Partial<Envelope<'leash.actions.funded.v1'>>;
  if (envelope.type !== 'leash.actions.funded.v1' || !envelope.data) return undefined;
  return {
    tenantId: reservation.tenantId,
    taskId: reservation.taskId,
    actionId: envelope.data.actionId,
    tool: envelope.data.tool,
    arguments: envelope.data.arguments,
  };
}

/** The refusal, on the path every refusal takes: actions.rejected, read by the planner and the audit. */
async function refuse(
  tx: Transaction,
  event: Envelope<'leash.actions.rejected.v1'>,
  why: string,
  source: string,
  now: number,
): Promise<void> {
  await tx.outbox.enqueue(
    'actions.rejected',
    createEnvelope(
      'leash.actions.rejected.v1',
      {
        actionId: event.data.actionId,
        agent: event.data.agent,
        tool: event.data.tool,
        gate: 'budget',
        code: 'invalid_signature',
        reason:
          `budget refused a rejection of this action (code ${event.data.code}, event ${event.id}) ` +
          `that claims to come from the approvals gate: ${why}. The reservation holds.`,
        versions: event.data.versions,
      },
      {
        id: `actions.rejected:${event.id}:refused-by-budget`,
        source,
        ...(event.tenantId !== undefined ? { tenantId: event.tenantId } : {}),
        taskId: event.taskId,
        time: new Date(now).toISOString(),
      },
    ),
  );
}
