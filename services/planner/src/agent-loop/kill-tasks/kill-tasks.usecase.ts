import type { KillV1 } from '@leash/contracts';
import { KilledError, killedReason, scopeCovers } from '@leash/kill-switch';
import { targetOf, type AgentLoopDeps } from '../agent-loop.deps';
import { finish } from '../task-state/loop-rules';
import { PLANNER_TASKS } from '../task-state/planner-task.aggregate';
import { changeTask } from '../task-state/task-transaction';

/**
 * Ends every open task a kill covers, `killed` with who issued it and why,
 * and aborts their model calls in flight here. The kill switch refuses new
 * model calls and new tasks in the scope until an explicit resume. Runs
 * once per service (the planner's consumer group): every instance shares
 * the store, and each instance's own kill switch aborts its own calls.
 */
export class KillTasksUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute(kill: KillV1): Promise<string[]> {
    const open = await this.deps.store
      .repository(PLANNER_TASKS)
      .find({ where: { status: 'running' } });
    const reason = killedReason(kill);
    const killed: string[] = [];
    for (const { doc } of open) {
      if (!scopeCovers(kill.scope, targetOf(doc))) continue;
      const changed = await changeTask(this.deps, doc.taskId, (task) =>
        task.status === 'running'
          ? finish(task, { now: this.deps.clock(), source: this.deps.source }, 'killed', reason)
          : undefined,
      );
      if (!changed) continue;
      killed.push(doc.taskId);
      this.deps.inFlight.abort(doc.taskId, new KilledError(kill));
    }
    return killed;
  }
}
