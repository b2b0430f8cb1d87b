import { IT_HELPDESK_AGENT } from './it-helpdesk';
import { PROCUREMENT_AGENT } from './procurement';
import { toolSourceOf, type ReferenceAgent } from './reference-agent';
import { SUPPORT_AGENT } from './support';

export * from './reference-agent';
export * from './it-helpdesk';
export * from './procurement';
export * from './support';

/** The shipped agents by name: the basis of the demo and the golden set. */
export const REFERENCE_AGENTS: Readonly<Record<string, ReferenceAgent>> = Object.freeze({
  [IT_HELPDESK_AGENT.profile.name]: IT_HELPDESK_AGENT,
  [PROCUREMENT_AGENT.profile.name]: PROCUREMENT_AGENT,
  [SUPPORT_AGENT.profile.name]: SUPPORT_AGENT,
});

/** Every reference tool, by name; the executor and the policy gate look tools up here. */
export const REFERENCE_TOOLS = toolSourceOf(
  Object.values(REFERENCE_AGENTS).flatMap((agent) => agent.tools),
);
export * from './scenario';
