import type { Envelope } from '@leash/contracts';
import type { Store } from '@leash/store';
import { toolRunText } from '@leash/taint';
import type { DecideActionUseCase, DecisionOutcome } from '../decide-action/decide-action.usecase';
import { decideReleased } from '../taint/release-parked';
import {
  loadTaint,
  recordUntrusted,
  recordVerified,
  releasable,
  saveTaint,
} from '../taint/task-taint';

export interface RecordActionOutcomeCommand {
  readonly event: Envelope<'leash.actions.completed.v1'> | Envelope<'leash.actions.rejected.v1'>;
}

export interface RecordActionOutcomeDependencies {
  readonly store: Store;
  readonly decideAction: Pick<DecideActionUseCase, 'releaseParked'>;
  readonly clock?: () => number;
  /** The inbox consumer name. Default `policy`. */
  readonly source?: string;
}

/**
 * Records what became of an action in the gate's taint record: a tool's
 * output or error is untrusted content (and, from a read about the
 * requester, verified values); a rejection only ends the wait for it (its
 * reason is a gate's and its feedback a reviewer's, neither from outside).
 * Then decides the task's proposals that waited for it.
 */
export class RecordActionOutcomeUseCase {
  private readonly clock: () => number;
  private readonly source: string;

  constructor(private readonly deps: RecordActionOutcomeDependencies) {
    this.clock = deps.clock ?? Date.now;
    this.source = deps.source ?? 'policy';
  }

  async execute({ event }: RecordActionOutcomeCommand): Promise<DecisionOutcome[]> {
    const tenantId = event.tenantId;
    const taskId = event.taskId;
    if (!tenantId || !taskId) return [];
    const now = this.clock();
    const released = await this.deps.store.transaction(async (tx) => {
      const taint = await loadTaint(tx, tenantId, taskId, now);
      // No record: the task finished (an approval cancelled with it, say) or was never seen
      // deciding anything. Nothing waits for this outcome, and no record is left behind.
      if (taint.version === undefined) return [];
      if (!(await tx.inbox.claim(this.source, event.id))) return releasable(taint.doc);
      const { actionId } = event.data;
      const awaited = taint.doc.awaiting[actionId];
      if (event.type === 'leash.actions.completed.v1') {
        // Recorded even for an action the gate does not await: more taint, never less.
        recordUntrusted(taint.doc, toolRunText(event.data));
        if (awaited?.aboutRequester && event.data.status === 'succeeded' && event.data.output) {
          recordVerified(taint.doc, event.data.output);
        }
      } else if (event.data.gate === 'policy' && awaited === undefined) {
        // The gate's own refusal of an action it never let through: nothing to record.
        return releasable(taint.doc);
      }
      delete taint.doc.awaiting[actionId];
      await saveTaint(tx, taint, now);
      return releasable(taint.doc);
    });
    return decideReleased(this.deps.decideAction, released);
  }
}
