import { loadAgentFolder, type AgentDefinition } from '../../agent-folders/agent-folder';
import type { AgentProfile } from '../../agent-profile';
import { toolSourceOf } from '../reference-agent';
import type { SystemPrompt } from '../scenario';
import { IT_HELPDESK_TOOLS } from './tools';

export * from './tools';
export * from './prompts';

/** Loaded from this folder (agent.yaml, prompt.md, policy.cedar) as any team's agent is; its tools are code. */
export const IT_HELPDESK_AGENT: AgentDefinition = loadAgentFolder(
  __dirname,
  toolSourceOf(IT_HELPDESK_TOOLS),
);
export const IT_HELPDESK_PROFILE: AgentProfile = IT_HELPDESK_AGENT.profile;
/** Every version is kept: a profile pins one, and an audit record names it. */
export const IT_HELPDESK_PROMPTS: readonly SystemPrompt[] = [IT_HELPDESK_AGENT.prompt];
