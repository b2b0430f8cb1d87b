import type { Store } from '@leash/store';
import { ReleaseCatalog } from '../releases/release-catalog';
import type { AgentDefinition } from './agent-folder';

/**
 * Where an agent folder and the release its agent runs disagree: a prompt
 * or a policy edited in the folder (or a release made from elsewhere) is
 * reported with the command that settles it. Nothing is changed: a folder
 * seeds an agent's first release only, and later ones are made on purpose.
 */
export async function agentDrift(
  store: Store,
  agents: readonly AgentDefinition[],
): Promise<string[]> {
  const releases = new ReleaseCatalog(store);
  const reports: string[] = [];
  for (const agent of agents) {
    const name = agent.profile.name;
    const routing = await releases.routing(name);
    const running = routing && (await releases.release(name, routing.current));
    if (!running) continue;
    const differs: string[] = [];
    const prompt = running.prompt;
    if (
      prompt.id !== agent.prompt.id ||
      prompt.version !== agent.prompt.version ||
      (prompt.text !== undefined && prompt.text !== agent.prompt.text)
    ) {
      differs.push(
        `the prompt (folder: ${agent.prompt.id} v${agent.prompt.version}; release: ${prompt.id} v${prompt.version})`,
      );
    }
    if (running.policy.cedar !== undefined && running.policy.cedar !== agent.policy.cedar) {
      differs.push(`the policy (release: ${running.policy.id} v${running.policy.version ?? '?'})`);
    }
    if (differs.length === 0) continue;
    reports.push(
      `agent ${name}: ${differs.join(' and ')} in ${agent.source.dir} ${differs.length > 1 ? 'differ' : 'differs'} from release @${running.release}, which runs its tasks; nothing was changed. ` +
        `To run the folder: leash release create --agent ${name} --file ${agent.source.file} (then promote it). ` +
        `To keep @${running.release}: leash release show ${name}@${running.release}, and bring the folder in line.`,
    );
  }
  return reports;
}
