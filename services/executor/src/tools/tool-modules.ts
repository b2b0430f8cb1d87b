import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AgentSet } from '@leash/agents';
import { mcpImplementations } from './mcp-tools';
import { ConfigError } from '@leash/config';
import { REFERENCE_IMPLEMENTATIONS } from './reference-tools';
import type { ToolImplementation } from './tool-implementation';
import { ToolRegistry } from './tool-registry';

/*
 * The one extension point for a team's tool code: a module the executor
 * loads by config (LEASH_TOOL_MODULES), exporting `tools`, an object from
 * tool name to implementation:
 *
 *   exports.tools = {
 *     async send_slack_message(args, ctx) { ... return { ts: '...' }; },
 *   };
 *
 * An implementation gets the arguments the gates approved (checked against
 * the tool's parameters) and a context: ctx.actionId (the idempotency key:
 * pass it to the system you call, so a repeat acts once), ctx.tenantId,
 * ctx.taskId, ctx.signal (aborted on the tool's timeout and by a kill: pass
 * it to every I/O call). It resolves with JSON-serialisable output, which
 * the planner hands the model as untrusted data. An error whose name is
 * ToolSemanticError fails the action without a retry; network errors
 * (ECONNRESET, ETIMEDOUT, ...) are retried by the tool's retry policy; any
 * other error fails the action as a bug. The definitions (name, parameters,
 * risk class, ...) live in the agent folder's tools.yaml, not here.
 */

/**
 * A module that cannot be used (missing, or not exporting `tools` as name ->
 * function), or tools and code that do not match: bad configuration, said
 * as such at start-up.
 */
export class ToolModuleError extends ConfigError {
  constructor(message: string) {
    super('the tools of LEASH_TOOL_MODULES', [{ variable: 'LEASH_TOOL_MODULES', message }]);
  }
}

/** Each module's implementations by tool name, with the module each came from. */
export function loadToolModules(
  paths: readonly string[],
): Map<string, { run: ToolImplementation; module: string }> {
  const found = new Map<string, { run: ToolImplementation; module: string }>();
  for (const given of paths) {
    const path = resolve(given);
    if (!existsSync(path)) {
      throw new ToolModuleError(`LEASH_TOOL_MODULES: ${path} does not exist`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(path) as { tools?: unknown; default?: { tools?: unknown } };
    const tools = loaded.tools ?? loaded.default?.tools;
    if (tools === null || typeof tools !== 'object') {
      throw new ToolModuleError(
        `LEASH_TOOL_MODULES: ${path} exports no \`tools\` object (tool name -> async function)`,
      );
    }
    for (const [name, run] of Object.entries(tools)) {
      if (typeof run !== 'function') {
        throw new ToolModuleError(`${path}: tools.${name} is not a function`);
      }
      const seen = found.get(name);
      if (seen) {
        throw new ToolModuleError(
          `tool ${name} is implemented twice: in ${seen.module} and ${path}`,
        );
      }
      found.set(name, { run: run as ToolImplementation, module: path });
    }
  }
  return found;
}

/**
 * The registry of every tool the agents name: each with the implementation a
 * tool module gives it, else the one Leash ships (the reference tools').
 * A tool without an implementation, or an implementation no agent defines,
 * stops the start with what to do.
 */
export function registryForAgents(agents: AgentSet, modulePaths: readonly string[]): ToolRegistry {
  const modules = loadToolModules(modulePaths);
  const registry = new ToolRegistry();
  // Tools of MCP servers: their code is the server, reached through the SDK client.
  const mcp = mcpImplementations(agents);
  registry.onClose(mcp.close);
  const missing: string[] = [];
  for (const name of agents.tools.names) {
    const run = mcp.tools.get(name) ?? modules.get(name)?.run ?? REFERENCE_IMPLEMENTATIONS[name];
    if (run) registry.register(agents.tools.tool(name)!, run);
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new ToolModuleError(
      `no implementation of ${missing.join(', ')}: set LEASH_TOOL_MODULES to the module(s) exporting them (\`exports.tools = { ${missing[0]}: async (args, ctx) => ... }\`)`,
    );
  }
  const stray = [...modules.entries()].filter(([name]) => !agents.tools.tool(name));
  if (stray.length > 0) {
    throw new ToolModuleError(
      `${stray.map(([name, { module }]) => `${name} (${module})`).join(', ')}: no agent defines this tool; define it in an agent folder's tools.yaml`,
    );
  }
  return registry;
}
