import type { AgentProfile } from '../agent-profile';
import type { ToolSource } from '../profile-source';
import type { ToolDefinition } from '../tool-definition';

/** A shipped agent: its profile, the tools it may call, and the first version of its policy. */
export interface ReferenceAgent {
  readonly profile: AgentProfile;
  readonly tools: readonly ToolDefinition[];
  readonly policy: {
    readonly policyId: string;
    readonly cedar: string;
    readonly description: string;
  };
}

/** A ToolSource over a fixed set of definitions; refuses two tools with one name. */
export function toolSourceOf(tools: Iterable<ToolDefinition>): ToolSource & {
  readonly names: readonly string[];
} {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of tools) {
    const seen = byName.get(tool.name);
    if (seen && seen !== tool) throw new Error(`two tool definitions are named ${tool.name}`);
    byName.set(tool.name, tool);
  }
  return {
    names: [...byName.keys()].sort(),
    tool: (name) => byName.get(name),
  };
}
