import { resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  OPERATOR_PUBLIC_KEYS_ENV,
  list,
  variable,
  type DeepReadonly,
} from '@leash/config';
import type { ToolSource } from '../profile-source';
import { REFERENCE_AGENTS, REFERENCE_TOOLS } from '../reference';
import { toolSourceOf } from '../reference/reference-agent';
import type { SystemPrompt } from '../reference/scenario';
import { ReleaseFileError } from '../releases/release-file';
import { agentFoldersIn, loadAgentFolder, type AgentDefinition } from './agent-folder';

/** The variables of every process that runs agents: which agents, from where, and who may release them. */
export const AGENT_VARIABLES = {
  ...OPERATOR_PUBLIC_KEYS_ENV,
  LEASH_SEED_REFERENCE_AGENTS: variable(
    z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    {
      description:
        'Run the reference agents (it-helpdesk, procurement, support) too, seeding them in the catalog at start-up and leaving existing versions as they are.',
      expected: 'true or false',
    },
  ),
  LEASH_AGENT_DIRS: variable(list().default([]), {
    description:
      "Your agents' folders, comma-separated: each an agent folder (agent.yaml, prompt.md, policy.cedar, tools.yaml) or a folder of them. Every service and the CLI load the same list.",
    expected: 'a comma-separated list of directories, e.g. ./agents',
  }),
};

export type AgentsConfig = DeepReadonly<z.output<z.ZodObject<typeof AGENT_VARIABLES>>>;

/** The agents a process runs: their definitions, tools and prompts. */
export interface AgentSet {
  readonly agents: readonly AgentDefinition[];
  readonly tools: ToolSource & { readonly names: readonly string[] };
  agent(name: string): AgentDefinition | undefined;
  /** A prompt an agent folder ships (releases bring their own, kept in the catalog). */
  prompt(id: string, version: string): SystemPrompt | undefined;
}

/** A set over given definitions; two agents of one name, or two tools of one name, are refused. */
export function agentSetOf(agents: readonly AgentDefinition[]): AgentSet {
  const byName = new Map<string, AgentDefinition>();
  for (const agent of agents) {
    const seen = byName.get(agent.profile.name);
    if (seen) {
      throw new ReleaseFileError(
        agent.source.file,
        [`name: agent ${agent.profile.name} is also defined in ${seen.source.file}`],
        'agent file',
      );
    }
    byName.set(agent.profile.name, agent);
  }
  const tools = toolSourceOf(agents.flatMap((agent) => agent.tools));
  const prompts = new Map(agents.map((a) => [`${a.prompt.id}@${a.prompt.version}`, a.prompt]));
  return {
    agents: [...byName.values()],
    tools,
    agent: (name) => byName.get(name),
    prompt: (id, version) => prompts.get(`${id}@${version}`),
  };
}

/** The reference agents alone: the default of code that runs without config (tests, benches). */
export const REFERENCE_AGENT_SET: AgentSet = agentSetOf(Object.values(REFERENCE_AGENTS));

const LOADED = new WeakMap<object, AgentSet>();

/**
 * The agents a process's config names: the reference agents unless
 * LEASH_SEED_REFERENCE_AGENTS=false, then every folder of LEASH_AGENT_DIRS
 * (relative paths from the working directory). Loaded once per config
 * object; a folder that does not load stops the start with its problems.
 */
export function agentSetFromConfig(config: AgentsConfig): AgentSet {
  const known = LOADED.get(config);
  if (known) return known;
  const agents: AgentDefinition[] = config.LEASH_SEED_REFERENCE_AGENTS
    ? Object.values(REFERENCE_AGENTS)
    : [];
  let set: AgentSet;
  try {
    for (const dir of config.LEASH_AGENT_DIRS) {
      for (const folder of agentFoldersIn(resolve(dir))) {
        agents.push(loadAgentFolder(folder, REFERENCE_TOOLS));
      }
    }
    set = agentSetOf(agents);
  } catch (error) {
    // A folder that does not load is bad configuration: said as such, with no stack.
    if (!(error instanceof ReleaseFileError)) throw error;
    throw new ConfigError('the agents of LEASH_AGENT_DIRS', [
      { variable: 'LEASH_AGENT_DIRS', message: error.message.replace(/\n/g, '\n  ') },
    ]);
  }
  LOADED.set(config, set);
  return set;
}
