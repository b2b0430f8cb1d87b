import { loadAgentFolder, type AgentDefinition } from '../../agent-folders/agent-folder';
import type { AgentProfile } from '../../agent-profile';
import { toolSourceOf } from '../reference-agent';
import type { SystemPrompt } from '../scenario';
import { SUPPORT_TOOLS } from './tools';

export * from './tools';
export * from './prompts';

/** Loaded from this folder (agent.yaml, prompt.md, policy.cedar) as any team's agent is; its tools are code. */
export const SUPPORT_AGENT: AgentDefinition = loadAgentFolder(
  __dirname,
  toolSourceOf(SUPPORT_TOOLS),
);
export const SUPPORT_PROFILE: AgentProfile = SUPPORT_AGENT.profile;
/** Every version is kept: a profile pins one, and an audit record names it. */
export const SUPPORT_PROMPTS: readonly SystemPrompt[] = [SUPPORT_AGENT.prompt];
