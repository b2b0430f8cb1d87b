import { AgentCatalog, type ToolSource } from '@leash/agents';
import type { AgentRef } from '@leash/contracts';
import type { Store } from '@leash/store';

/**
 * Checks a reviewer's edited arguments as the policy gate will check the new
 * proposal first: the agent version's allowlist, then the tool's zod
 * parameters (the definitions deployed). Undefined when they fit; otherwise
 * what is wrong, field by field. The CLI and the web inbox both call it
 * before publishing an edit, so a reviewer hears of a typo at once.
 */
export async function checkEditedArguments(
  store: Store,
  tools: ToolSource,
  request: { readonly agent: AgentRef; readonly tool: string },
  args: Record<string, unknown>,
): Promise<string | undefined> {
  const profile = await new AgentCatalog(store).profile(request.agent.name, request.agent.version);
  if (profile && !profile.tools.includes(request.tool)) {
    return `${request.tool} is not a tool of ${request.agent.name} v${request.agent.version}`;
  }
  const tool = tools.tool(request.tool);
  if (!tool) return `no definition of tool ${request.tool} is deployed`;
  const parsed = tool.parameters.safeParse(args);
  if (parsed.success) return undefined;
  return parsed.error.issues
    .slice(0, 20)
    .map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`)
    .join('; ');
}
