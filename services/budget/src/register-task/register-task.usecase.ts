import { transactionRetryingConflicts } from '@leash/store';
import { BudgetTask } from '../ledger/ledger.aggregates';
import { CONSUMERS, type LedgerDeps } from '../ledger/ledger';
import type { RegisterTaskCommand } from './register-task.command';

/** Records which agent (and pinned profile version) a task runs, once. */
export class RegisterTaskUseCase {
  constructor(private readonly deps: Pick<LedgerDeps, 'store'>) {}

  async execute({ event }: RegisterTaskCommand): Promise<void> {
    const { tenantId, taskId } = event;
    // Without both, no budget request could be matched to this task; nothing to remember.
    if (!tenantId || !taskId) return;
    await transactionRetryingConflicts(this.deps.store, async (tx) => {
      if (!(await tx.inbox.claim(CONSUMERS.tasksRequested, event.id))) return;
      const tasks = tx.repository(BudgetTask);
      // The first registration wins: a task's agent does not change.
      if (await tasks.get(taskId)) return;
      await tasks.insert({
        taskId,
        tenantId,
        agent: event.data.agent,
        ...(event.data.agentVersion !== undefined ? { agentVersion: event.data.agentVersion } : {}),
      });
    });
  }
}
