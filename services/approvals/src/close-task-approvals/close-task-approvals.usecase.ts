import type { Envelope } from '@leash/contracts';
import { transactionRetryingConflicts } from '@leash/store';
import { requestRejectedEvent } from '../gate/approval-events';
import { utcIso } from '@leash/clock';
import {
  CONSUMERS,
  actionLine,
  appendHistory,
  markTaskFinished,
  type ApprovalGateDeps,
} from '../gate/approval-gate';
import { approvalRequests } from '../gate/approvals.aggregates';

export interface CloseTaskApprovalsCommand {
  readonly event: Envelope<'leash.tasks.finished.v1'>;
}

/**
 * A task that finished takes its pending approval requests with it. Without
 * this, a request outlived its task: a task killed (or timed out, or stopped
 * by a cap) while an action waited for reviewers could still have that
 * action approved later, after a resume, and the executor would run it for a
 * task that was over. Each pending request of the task is closed as
 * `cancelled`, its history says why, and the action is rejected
 * (`task_finished`) so the task's audit log shows it never ran. A verdict on
 * it afterwards is refused as closed, and an action of the task funded
 * afterwards is refused rather than put to reviewers.
 */
export class CloseTaskApprovalsUseCase {
  constructor(
    private readonly deps: Pick<ApprovalGateDeps, 'store' | 'clock' | 'source' | 'signer'>,
  ) {}

  /** Resolves with the approval ids it closed; none for a redelivered event. */
  execute({ event }: CloseTaskApprovalsCommand): Promise<string[]> {
    const { taskId, status } = event.data;
    return transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.tasksFinished, event.id))) return [];
      const requests = tx.repository(approvalRequests);
      const pending = (await requests.find({ where: { taskId } })).filter(
        ({ doc }) => doc.status === 'pending' && doc.tenantId === event.tenantId,
      );
      const now = this.deps.clock.now();
      const at = utcIso(now);
      const reason = `the task finished (${status}: ${event.data.reason}) before the approval was given; nothing runs for it`;
      for (const { doc: request, version } of pending) {
        await requests.update(
          { ...request, status: 'cancelled', closedAt: at, closedReason: reason },
          version,
        );
        await appendHistory(
          tx,
          request.tenantId,
          request.taskId,
          `${actionLine(request.funded)}: cancelled, the task finished (${status})`,
          now,
        );
        await tx.outbox.enqueue(
          'actions.rejected',
          requestRejectedEvent(
            request,
            {
              id: `actions.rejected:${request.approvalId}:task_finished`,
              source: this.deps.source,
              time: at,
            },
            { code: 'task_finished', reason },
            { signer: this.deps.signer, now },
          ),
        );
      }
      // An action funded before the task finished may still arrive: it is refused, not asked.
      if (event.tenantId !== undefined) {
        await markTaskFinished(tx, event.tenantId, taskId, status, now);
      }
      return pending.map(({ id }) => id);
    });
  }
}
