import { createEnvelope } from '@leash/contracts';
import { EventValidationError } from '@leash/contracts';
import { transactionRetryingConflicts } from '@leash/store';
import { utcIso } from '@leash/clock';
import { killRefusal } from '@leash/kill-switch';
import { CONSUMERS, type LedgerDeps } from '../ledger/ledger';
import type { FundDecidedActionCommand } from './fund-decided-action.command';

/** The request id of an action's reservation: one per action, so a second decision gets the first's answer. */
export const actionRequestId = (actionId: string): string => `action:${actionId}`;

/**
 * Re-keys a decision (keyed by task) as a reservation request on
 * budget.requests (keyed by tenant), so action spend and model spend of one
 * tenant are decided one at a time, in one order. The request is enqueued in
 * the transaction that claims the decision: a crash between the two cannot
 * lose it or send it twice.
 */
export class FundDecidedActionUseCase {
  private readonly source: string;
  private readonly graceMs: number;

  constructor(
    private readonly deps: Pick<LedgerDeps, 'store' | 'source' | 'settleGraceMs' | 'killSwitch'>,
  ) {
    this.source = deps.source ?? 'budget';
    this.graceMs = deps.settleGraceMs ?? 300_000;
  }

  async execute({ event }: FundDecidedActionCommand): Promise<void> {
    const { tenantId, taskId } = event;
    if (!tenantId || !taskId) {
      // Without them the request has no partition key and the grant nothing to bind to.
      throw new EventValidationError(`${event.type} ${event.id} has no tenantId or taskId`);
    }
    const decided = event.data;
    // The reservation outlives the grant by the grace, so a run at the last moment can still settle it.
    const deadlineAt = utcIso(Date.parse(decided.decision.signed.expiresAt) + this.graceMs);
    const requestId = actionRequestId(decided.actionId);
    const request = createEnvelope(
      'leash.budget.requested.v1',
      { kind: 'action', requestId, taskId, actionId: decided.actionId, deadlineAt, decided },
      { id: `request:${requestId}`, source: this.source, tenantId, taskId },
    );
    await transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.actionsDecided, event.id))) return;
      const kill = this.deps.killSwitch?.covering({ tenantId, agent: decided.agent.name, taskId });
      if (kill) {
        // Not funded, and the planner hears why. The id is the decision's, not the request's:
        // a decision of the same action after the resume still gets its own answer.
        await tx.outbox.enqueue(
          'actions.rejected',
          createEnvelope(
            'leash.actions.rejected.v1',
            {
              actionId: decided.actionId,
              agent: decided.agent,
              tool: decided.tool,
              gate: 'budget',
              code: 'killed',
              reason: `${killRefusal(kill, 'budget reserves nothing for this action')}.`,
              versions: decided.versions,
            },
            { id: `killed:${event.id}`, source: this.source, tenantId, taskId },
          ),
        );
        return;
      }
      await tx.outbox.enqueue('budget.requests', request);
    });
  }
}
