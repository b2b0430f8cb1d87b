import { IT_HELPDESK_AGENT, IT_HELPDESK_PROMPTS } from './it-helpdesk';
import { PROCUREMENT_AGENT, PROCUREMENT_PROMPTS } from './procurement';
import type { AgentDefinition } from '../agent-folders/agent-folder';
import { toolSourceOf } from './reference-agent';
import type { SystemPrompt } from './scenario';
import { SUPPORT_AGENT, SUPPORT_PROMPTS } from './support';

export * from './reference-agent';
export * from './it-helpdesk';
export * from './procurement';
export * from './support';

/** The shipped agents by name: the basis of the demo and the golden set. */
export const REFERENCE_AGENTS: Readonly<Record<string, AgentDefinition>> = Object.freeze({
  [IT_HELPDESK_AGENT.profile.name]: IT_HELPDESK_AGENT,
  [PROCUREMENT_AGENT.profile.name]: PROCUREMENT_AGENT,
  [SUPPORT_AGENT.profile.name]: SUPPORT_AGENT,
});

/** Every reference tool, by name; the executor and the policy gate look tools up here. */
export const REFERENCE_TOOLS = toolSourceOf(
  Object.values(REFERENCE_AGENTS).flatMap((agent) => agent.tools),
);
export * from './scenario';

/** Every version of the reference agents' system prompts, shipped as code. */
export const REFERENCE_PROMPTS: readonly SystemPrompt[] = [
  ...IT_HELPDESK_PROMPTS,
  ...PROCUREMENT_PROMPTS,
  ...SUPPORT_PROMPTS,
];
