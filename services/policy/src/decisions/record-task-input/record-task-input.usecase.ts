import type { Envelope } from '@leash/contracts';
import type { Store } from '@leash/store';
import type { DecideActionUseCase, DecisionOutcome } from '../decide-action/decide-action.usecase';
import { decideReleased } from '../taint/release-parked';
import { loadTaint, recordUntrusted, releasable, saveTaint } from '../taint/task-taint';

export interface RecordTaskInputCommand {
  readonly event: Envelope<'leash.tasks.requested.v1'>;
}

export interface RecordTaskInputDependencies {
  readonly store: Store;
  readonly decideAction: Pick<DecideActionUseCase, 'releaseParked'>;
  readonly clock?: () => number;
  /** The inbox consumer name. Default `policy`. */
  readonly source?: string;
}

/**
 * Records a task's input as untrusted content, and who asked, in the gate's
 * taint record; then decides the task's proposals that waited for it.
 */
export class RecordTaskInputUseCase {
  private readonly clock: () => number;
  private readonly source: string;

  constructor(private readonly deps: RecordTaskInputDependencies) {
    this.clock = deps.clock ?? Date.now;
    this.source = deps.source ?? 'policy';
  }

  async execute({ event }: RecordTaskInputCommand): Promise<DecisionOutcome[]> {
    const tenantId = event.tenantId;
    const taskId = event.taskId;
    // Nothing is decided for a proposal without a tenant; its record would never be read.
    if (!tenantId || !taskId) return [];
    const now = this.clock();
    const released = await this.deps.store.transaction(async (tx) => {
      const taint = await loadTaint(tx, tenantId, taskId, now);
      // A redelivery changes nothing, but still lists what waited (the decisions may not have run).
      if (!(await tx.inbox.claim(this.source, event.id))) return releasable(taint.doc);
      if (!taint.doc.inputSeen) {
        taint.doc.inputSeen = true;
        if (event.data.requestedBy !== undefined) {
          taint.doc.requestedBy = event.data.requestedBy.trim().toLowerCase();
        }
        recordUntrusted(taint.doc, event.data.input);
        await saveTaint(tx, taint, now);
      }
      return releasable(taint.doc);
    });
    return decideReleased(this.deps.decideAction, released);
  }
}
