import { randomUUID } from 'node:crypto';
import type { AgentLoopDeps } from '../agent-loop.deps';
import { budgetRequest } from '../task-state/loop-rules';
import { PLANNER_TASKS } from '../task-state/planner-task.aggregate';
import { enqueueAll } from '../task-state/task-transaction';

/**
 * Picks up every open task after a (re)start. A task caught between steps
 * (waiting for its model grant, or granted and calling) gets its budget
 * request issued again: same request id, new event id, so the budget answers
 * it with the decision it already made (or makes it once), and that answer
 * drives the task on as if nothing had happened. Tasks waiting on actions
 * need nothing: the gates' events are in the log. Returns the task ids.
 */
export class ResumeOpenTasksUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute(): Promise<string[]> {
    const open = await this.deps.store
      .repository(PLANNER_TASKS)
      .find({ where: { status: 'running' } });
    const resumed: string[] = [];
    for (const { doc: task } of open) {
      if (task.phase !== 'awaiting_budget' && task.phase !== 'calling_model') continue;
      if (!task.reservation) continue;
      const request = budgetRequest(
        task,
        { now: this.deps.clock(), source: this.deps.source },
        `model-request:${task.reservation.requestId}:resume:${randomUUID()}`,
      );
      await this.deps.store.transaction((tx) => enqueueAll(tx, [request]));
      resumed.push(task.taskId);
    }
    return resumed;
  }
}
