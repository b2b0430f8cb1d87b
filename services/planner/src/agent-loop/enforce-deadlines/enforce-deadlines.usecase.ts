import type { AgentLoopDeps } from '../agent-loop.deps';
import { TaskEndedError } from '../task-state/in-flight-calls';
import { deadlineReason, finish } from '../task-state/loop-rules';
import { PLANNER_TASKS } from '../task-state/planner-task.aggregate';
import { changeTask } from '../task-state/task-transaction';

/** Open tasks looked at per sweep; the next sweep takes the rest. */
const SWEEP_BATCH = 500;

/**
 * Ends every open task whose wall-clock deadline has passed, whatever it
 * waits for (a gate, a person, the model): `limit_exceeded`, naming the cap.
 * A model call in flight for it is aborted. Returns the task ids it ended.
 */
export class EnforceDeadlinesUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute(): Promise<string[]> {
    const now = this.deps.clock();
    const due = await this.deps.store.repository(PLANNER_TASKS).find({
      where: { status: 'running' },
      range: { field: 'deadlineAt', lte: new Date(now).toISOString() },
      orderBy: 'deadlineAt',
      limit: SWEEP_BATCH,
    });
    const ended: string[] = [];
    for (const { doc } of due) {
      const changed = await changeTask(this.deps, doc.taskId, (task) => {
        if (task.status !== 'running' || Date.parse(task.deadlineAt) > now) return undefined;
        return finish(
          task,
          { now, source: this.deps.source },
          'limit_exceeded',
          deadlineReason(task),
        );
      });
      if (!changed) continue;
      ended.push(doc.taskId);
      this.deps.inFlight.abort(doc.taskId, new TaskEndedError(deadlineReason(doc)));
    }
    return ended;
  }
}
