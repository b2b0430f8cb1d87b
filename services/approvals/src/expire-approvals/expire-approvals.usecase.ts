import { transactionRetryingConflicts } from '@leash/store';
import {
  approvalIdFor,
  approvalRequests,
  type ApprovalRequest,
} from '../gate/approvals.aggregates';
import { approvalRequestedEvent, requestRejectedEvent } from '../gate/approval-events';
import { utcIso } from '@leash/clock';
import { actionLine, appendHistory, type ApprovalGateDeps } from '../gate/approval-gate';

export interface ExpiryReport {
  /** Requests that ran out of reviewer groups: denied with approval_expired. */
  readonly expired: readonly string[];
  /** Requests handed to the next group of their chain, as `old -> new` approval ids. */
  readonly escalated: readonly string[];
}

const BATCH = 200;

/**
 * Closes pending requests past their expiry. Silence is a no: a request with
 * no group left in its chain is denied (actions.rejected, approval_expired);
 * otherwise the next group is asked under a new approval id with a fresh
 * expiry and a fresh quorum, and verdicts on the old id are refused.
 */
export class ExpireApprovalsUseCase {
  constructor(
    private readonly deps: Pick<ApprovalGateDeps, 'store' | 'clock' | 'source' | 'signer'>,
  ) {}

  async execute(): Promise<ExpiryReport> {
    const expired: string[] = [];
    const escalated: string[] = [];
    for (;;) {
      const now = this.deps.clock.now();
      const due = await this.deps.store.repository(approvalRequests).find({
        where: { status: 'pending' },
        range: { field: 'expiresAt', lte: utcIso(now) },
        orderBy: 'expiresAt',
        limit: BATCH,
      });
      for (const { id } of due) {
        const outcome = await this.expire(id, now);
        if (outcome?.kind === 'expired') expired.push(id);
        if (outcome?.kind === 'escalated') escalated.push(`${id} -> ${outcome.next}`);
      }
      if (due.length < BATCH) return { expired, escalated };
    }
  }

  private expire(
    approvalId: string,
    now: number,
  ): Promise<{ kind: 'expired' } | { kind: 'escalated'; next: string } | undefined> {
    return transactionRetryingConflicts(this.deps.store, async (tx) => {
      const requests = tx.repository(approvalRequests);
      const stored = await requests.get(approvalId);
      // A verdict may have closed it since the query; re-read and re-check.
      if (!stored || stored.doc.status !== 'pending' || stored.doc.expiresAt > utcIso(now)) {
        return undefined;
      }
      const request = stored.doc;
      const at = utcIso(now);
      const line = actionLine(request.funded);
      const nextStage = request.stage + 1;
      const nextGroup = request.chain[nextStage];

      if (nextGroup === undefined) {
        const reason =
          `nobody in ${request.reviewerGroup} answered before ${request.expiresAt}; ` +
          'an unanswered approval request is a denial';
        await requests.update(
          { ...request, status: 'expired', closedAt: at, closedReason: reason },
          stored.version,
        );
        await appendHistory(
          tx,
          request.tenantId,
          request.taskId,
          `${line}: expired unanswered`,
          now,
        );
        await tx.outbox.enqueue(
          'actions.rejected',
          requestRejectedEvent(
            request,
            { id: `actions.rejected:${approvalId}`, source: this.deps.source, time: at },
            { code: 'approval_expired', reason },
            { signer: this.deps.signer, now },
          ),
        );
        return { kind: 'expired' };
      }

      const next = approvalIdFor(request.tenantId, request.actionId, nextStage);
      await requests.update(
        {
          ...request,
          status: 'escalated',
          closedAt: at,
          closedReason: `unanswered by ${request.reviewerGroup}; escalated to ${nextGroup} as ${next}`,
        },
        stored.version,
      );
      const escalated = `${line}: unanswered by ${request.reviewerGroup}, escalated to ${nextGroup}`;
      // The next group sees that the first one was asked and stayed silent.
      const history = [
        ...(await appendHistory(tx, request.tenantId, request.taskId, escalated, now)),
        escalated,
      ];
      const escalation: ApprovalRequest = {
        ...request,
        approvalId: next,
        stage: nextStage,
        reviewerGroup: nextGroup,
        status: 'pending',
        approvals: [],
        history,
        requestedAt: at,
        expiresAt: utcIso(now + request.ttlMs),
      };
      delete escalation.closedAt;
      delete escalation.closedReason;
      await requests.insert(escalation);
      await tx.outbox.enqueue(
        'approvals.requested',
        approvalRequestedEvent(escalation, this.deps.source),
      );
      return { kind: 'escalated', next };
    });
  }
}
