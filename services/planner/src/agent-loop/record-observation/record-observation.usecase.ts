import type { Envelope } from '@leash/contracts';
import type { AgentLoopDeps } from '../agent-loop.deps';
import { recordOutcome } from '../task-state/loop-rules';
import { PLANNER_TASKS } from '../task-state/planner-task.aggregate';
import { changeTask, loopContext } from '../task-state/task-transaction';

export interface RecordObservationCommand {
  readonly event: Envelope<'leash.actions.completed.v1'> | Envelope<'leash.actions.rejected.v1'>;
}

export type RecordObservationOutcome = 'recorded' | 'ignored';

/**
 * Records what happened to a proposed action: its result (untrusted output,
 * kept as a taint source) or a gate's rejection with the reason and any
 * reviewer feedback. When the turn's last call has its outcome, the model
 * is asked again (through the budget) or a rule ends the task. Once per event.
 */
export class RecordObservationUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute({ event }: RecordObservationCommand): Promise<RecordObservationOutcome> {
    const taskId = event.taskId!; // the partition key: validated at the edge
    const existing = await this.deps.store.repository(PLANNER_TASKS).get(taskId);
    if (!existing || existing.doc.status !== 'running') return 'ignored';
    const ctx = await loopContext(this.deps, existing.doc);
    const outcome =
      event.type === 'leash.actions.completed.v1'
        ? ({ kind: 'completed', data: event.data } as const)
        : ({ kind: 'rejected', data: event.data } as const);
    const changed = await changeTask(
      this.deps,
      taskId,
      (task) => recordOutcome(task, ctx, outcome),
      { consumer: `${this.deps.source}:outcomes`, eventId: event.id },
    );
    return changed ? 'recorded' : 'ignored';
  }
}
