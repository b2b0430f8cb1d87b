import { readPolicyFile, type ReferenceAgent } from '../reference-agent';
import { IT_HELPDESK_PROFILE } from './profile';
import { IT_HELPDESK_TOOLS } from './tools';

export * from './tools';
export { IT_HELPDESK_PROFILE } from './profile';

export const IT_HELPDESK_AGENT: ReferenceAgent = {
  profile: IT_HELPDESK_PROFILE,
  tools: IT_HELPDESK_TOOLS,
  policy: {
    policyId: IT_HELPDESK_PROFILE.policy.id,
    cedar: readPolicyFile(__dirname),
    description: 'IT helpdesk: knowledge base, tickets, password resets, software installs.',
  },
};
export * from './prompts';
