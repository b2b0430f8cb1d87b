import type { Envelope } from '@leash/contracts';
import type { Store } from '@leash/store';
import { activityId, taskTaint } from '../decisions.aggregates';

export interface ForgetTaskCommand {
  readonly event: Envelope<'leash.tasks.finished.v1'>;
}

/**
 * Drops a finished task's taint record, proposals still parked in it
 * included: nothing waits for their decisions any more.
 */
export class ForgetTaskUseCase {
  constructor(private readonly deps: { readonly store: Store }) {}

  async execute({ event }: ForgetTaskCommand): Promise<boolean> {
    const tenantId = event.tenantId;
    const taskId = event.taskId ?? event.data.taskId;
    if (!tenantId) return false;
    return this.deps.store.transaction(async (tx) => {
      const repository = tx.repository(taskTaint);
      const stored = await repository.get(activityId(tenantId, taskId));
      if (!stored) return false;
      await repository.delete(stored.id, stored.version);
      return true;
    });
  }
}
