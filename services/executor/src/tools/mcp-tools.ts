import type { AgentSet } from '@leash/agents';
import { McpConnections, McpToolError } from '@leash/agents/mcp';
import { inSpan } from '@leash/telemetry';
import { ToolSemanticError, type ToolImplementation } from './tool-implementation';

/**
 * The code of every tool the agents' MCP servers give: a call through the
 * SDK client, in a span of its own under the tool's. Connections open on
 * first use, one per server of each agent folder.
 */
export function mcpImplementations(agents: AgentSet): {
  readonly tools: ReadonlyMap<string, ToolImplementation>;
  close(): Promise<void>;
} {
  const tools = new Map<string, ToolImplementation>();
  const connections: McpConnections[] = [];
  for (const agent of agents.agents) {
    if (!agent.mcp) continue;
    const servers = new McpConnections(agent.mcp);
    connections.push(servers);
    for (const [server, { tools: pinned }] of Object.entries(agent.mcp.lock.servers)) {
      for (const { name } of pinned) {
        const tool = `${server}.${name}`;
        const timeoutMs = agents.tools.tool(tool)?.timeoutMs ?? 30_000;
        tools.set(tool, (args, ctx) =>
          inSpan(
            `mcp ${tool}`,
            {
              attributes: {
                'mcp.server': server,
                'mcp.tool': name,
                'leash.action_id': ctx.actionId,
              },
            },
            async () => {
              try {
                return await servers.call(tool, args, {
                  actionId: ctx.actionId,
                  signal: ctx.signal,
                  timeoutMs,
                });
              } catch (error) {
                // A refused or failing tool fails the action for the planner; it is not retried.
                if (error instanceof McpToolError && error.code !== 'unavailable') {
                  throw new ToolSemanticError(error.message, error.code);
                }
                throw error;
              }
            },
          ),
        );
      }
    }
  }
  return {
    tools,
    close: async () => {
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}
