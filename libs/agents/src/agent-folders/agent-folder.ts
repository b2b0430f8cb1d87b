import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { AgentProfile } from '../agent-profile';
import type { ToolSource } from '../profile-source';
import type { ReferenceAgent } from '../reference/reference-agent';
import type { SystemPrompt } from '../reference/scenario';
import {
  ReleaseFile,
  ReleaseFileError,
  parseDataFile,
  readReferencedTexts,
  textVersion,
} from '../releases/release-file';
import { loadMcpSetup, mcpTools, type McpSetup } from '../mcp/mcp-files';
import { loadGoldenTasks } from './golden-task-file';
import type { ReferenceScenario } from '../reference/scenario';
import { loadRubric, type Rubric } from './rubric';
import type { ToolDefinition } from '../tool-definition';
import { ToolFile, toolFromData } from './tool-file';

/**
 * An agent as a team keeps it, in a folder of its own:
 *   agent.yaml    the profile (a release file with a name): model, prompt, policy, tools, caps
 *   prompt.md     the system prompt (or inline in agent.yaml)
 *   policy.cedar  the Cedar policy (or inline)
 *   tools.yaml    the agent's own tools as data (JSON Schema parameters); optional
 *   mcp.yaml      MCP servers whose tools it uses, pinned in mcp.lock.json; optional
 *   rubric.yaml   the questions of its weekly sample review (leash review); optional
 *   golden/       golden tasks as data (leash review promote writes them); optional
 * Leash loads the folders LEASH_AGENT_DIRS names; the reference agents are such folders.
 */
export const AGENT_FILE_NAMES = ['agent.yaml', 'agent.yml', 'agent.json'] as const;

export const AgentFile = ReleaseFile.extend({
  name: AgentProfile.shape.name,
}).strict();
export type AgentFile = z.infer<typeof AgentFile>;

/** An agent loaded from its folder: what seeds its first release, and what the services run. */
export interface AgentDefinition extends ReferenceAgent {
  readonly prompt: SystemPrompt;
  /** The folder, and the file `leash release create --file` takes to publish a change to it. */
  readonly source: { readonly dir: string; readonly file: string };
  /** Its MCP servers and pinned tools, when it has an mcp.yaml. */
  readonly mcp?: McpSetup;
  /** The questions of its weekly sample review, when it has a rubric.yaml. */
  readonly rubric?: Rubric;
  /** Golden tasks written as data in its golden/ directory (promoted from reviewed runs). */
  readonly goldenTasks: readonly ReferenceScenario[];
}

/** The agent file of a folder, or undefined when it has none. */
export function agentFileIn(dir: string): string | undefined {
  return AGENT_FILE_NAMES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/**
 * Loads one agent folder. `codeTools` are the tools shipped as code (the
 * reference agents'); an agent may name those or define its own in
 * tools.yaml. Any problem is a ReleaseFileError naming the file and field.
 */
export function loadAgentFolder(dir: string, codeTools: ToolSource): AgentDefinition {
  const folder = resolve(dir);
  const file = agentFileIn(folder);
  if (!file) {
    throw new ReleaseFileError(
      folder,
      [`no ${AGENT_FILE_NAMES.join(' or ')} in this folder`],
      'agent folder',
    );
  }
  const content = parseDataFile(readFileSync(file, 'utf8'), file, AgentFile, 'agent file');
  const { promptText, cedar } = readReferencedTexts(content, file, folder);
  const missing = [
    ...(promptText === undefined
      ? ['prompt: give prompt.file (e.g. prompt.md) or prompt.text']
      : []),
    ...(cedar === undefined
      ? ['policy: give policy.file (e.g. policy.cedar) or policy.cedar']
      : []),
  ];
  if (missing.length > 0) throw new ReleaseFileError(file, missing, 'agent file');

  const toolsFile = ['tools.yaml', 'tools.yml', 'tools.json']
    .map((name) => join(folder, name))
    .find((path) => existsSync(path));
  const ownTools = new Map<string, ToolDefinition>();
  if (toolsFile) {
    const entries = parseDataFile(
      readFileSync(toolsFile, 'utf8'),
      toolsFile,
      ToolFile,
      'tools file',
    );
    entries.forEach((entry, index) => {
      try {
        ownTools.set(entry.name, toolFromData(entry));
      } catch (error) {
        throw new ReleaseFileError(
          toolsFile,
          [`${index}: ${(error as Error).message}`],
          'tools file',
        );
      }
    });
  }

  // Every tool pinned from its MCP servers is the agent's, under server.tool.
  const mcp = loadMcpSetup(folder);
  const rubric = loadRubric(folder);
  for (const tool of mcp ? mcpTools(mcp) : []) ownTools.set(tool.name, tool);
  const mcpNames = [...ownTools.keys()].filter((name) => name.includes('.'));

  const promptId = content.prompt?.id ?? content.name;
  const prompt: SystemPrompt = {
    id: promptId,
    version: content.prompt?.version ?? textVersion(promptText!),
    text: promptText!,
  };
  const parsed = AgentProfile.safeParse({
    name: content.name,
    version: 1,
    description: content.description ?? '',
    model: content.model,
    prompt: { id: prompt.id, version: prompt.version },
    tools: [...(content.tools ?? []), ...mcpNames.filter((n) => !content.tools?.includes(n))],
    policy: { id: content.policy?.id ?? content.name },
    caps: content.caps,
    liftIrreversibleApproval: content.liftIrreversibleApproval,
    loopThreshold: content.loopThreshold,
    rateLimits: content.rateLimits,
    maxSteps: content.maxSteps,
    approvals: content.approvals,
    costGuard: content.costGuard,
    fallbackModel: content.fallbackModel,
  });
  if (!parsed.success) {
    throw new ReleaseFileError(
      file,
      parsed.error.issues.map(
        (issue) =>
          `${issue.path.join('.')}: ${issue.code === 'invalid_type' && issue.input === undefined ? 'missing' : issue.message}`,
      ),
      'agent file',
    );
  }
  const profile = parsed.data;
  const unknown: string[] = [];
  const tools = profile.tools.flatMap((name) => {
    const tool = ownTools.get(name) ?? codeTools.tool(name);
    if (!tool)
      unknown.push(
        `tools: "${name}" is neither in ${toolsFile ?? join(folder, 'tools.yaml')} nor a tool Leash ships`,
      );
    return tool ? [tool] : [];
  });
  const unused = [...ownTools.keys()].filter((name) => !profile.tools.includes(name));
  for (const name of unused)
    unknown.push(`tools: ${name} is defined in tools.yaml but not in the agent's tools`);
  if (unknown.length > 0) throw new ReleaseFileError(file, unknown, 'agent file');
  return {
    profile,
    tools,
    prompt,
    policy: {
      policyId: profile.policy.id,
      cedar: cedar!,
      description: content.policy?.description ?? '',
    },
    source: { dir: folder, file },
    ...(mcp ? { mcp } : {}),
    ...(rubric ? { rubric } : {}),
    goldenTasks: loadGoldenTasks(folder),
  };
}

/**
 * The agent folders a directory holds: itself when it has an agent file,
 * else each sub-folder that has one, by name.
 */
export function agentFoldersIn(dir: string): string[] {
  const folder = resolve(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new ReleaseFileError(folder, ['no such folder'], 'agent folder');
  }
  if (agentFileIn(folder)) return [folder];
  const found = readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && agentFileIn(join(folder, entry.name)))
    .map((entry) => join(folder, entry.name))
    .sort();
  if (found.length === 0) {
    throw new ReleaseFileError(
      folder,
      [`neither this folder nor any folder in it has an ${AGENT_FILE_NAMES[0]}`],
      'agent folder',
    );
  }
  return found;
}
