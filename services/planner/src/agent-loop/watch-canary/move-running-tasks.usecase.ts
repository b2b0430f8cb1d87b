import type { ReleaseRoutedV1 } from '@leash/contracts';
import type { AgentLoopDeps } from '../agent-loop.deps';
import { promptVersion, systemMessage } from '../task-state/conversation';
import { PLANNER_TASKS } from '../task-state/planner-task.aggregate';
import { changeTask, profileTools, toolsVersionOf } from '../task-state/task-transaction';

/**
 * `leash release rollback --move-running`: the running tasks of a release
 * the routing left behind go on under the current one, from their next
 * step (new prompt, model, tools and caps; what they did stays as it was).
 * Without the flag nothing moves: a task finishes on the release it started
 * with, and a kill is the way to stop it. Moving twice is moving once.
 */
export class MoveRunningTasksUseCase {
  constructor(private readonly deps: AgentLoopDeps) {}

  async execute(routed: ReleaseRoutedV1): Promise<string[]> {
    if (!routed.moveRunning) return [];
    const { deps } = this;
    const keep = new Set([routed.current, ...(routed.canary ? [routed.canary.release] : [])]);
    const profile = await deps.profiles.profile(routed.agent, routed.current);
    const prompt =
      profile && (await deps.prompts.prompt(profile.prompt.id, profile.prompt.version));
    if (!profile || !prompt) {
      deps.log.warn(
        `running tasks of ${routed.agent} not moved: release ${routed.current} is not here`,
      );
      return [];
    }
    const tools = profileTools(deps, profile);
    const running = await deps.store
      .repository(PLANNER_TASKS)
      .find({ where: { status: 'running' } });
    const moved: string[] = [];
    for (const { doc } of running) {
      if (doc.agent.name !== routed.agent || keep.has(doc.agent.version)) continue;
      const changed = await changeTask(deps, doc.taskId, (task) => {
        if (task.status !== 'running' || keep.has(task.agent.version)) return undefined;
        task.agent = { name: task.agent.name, version: profile.version };
        task.model = deps.modelName(profile);
        task.maxSteps = profile.maxSteps;
        task.versions = {
          profile: profile.version,
          model: task.model,
          tools: toolsVersionOf(tools),
          prompt: promptVersion(prompt),
        };
        if (task.messages[0]?.role === 'system') task.messages[0] = systemMessage(prompt);
        return [];
      });
      if (changed) moved.push(doc.taskId);
    }
    return moved;
  }
}
