import { readPolicyFile, type ReferenceAgent } from '../reference-agent';
import { SUPPORT_PROFILE } from './profile';
import { SUPPORT_TOOLS } from './tools';

export * from './tools';
export { SUPPORT_PROFILE } from './profile';

export const SUPPORT_AGENT: ReferenceAgent = {
  profile: SUPPORT_PROFILE,
  tools: SUPPORT_TOOLS,
  policy: {
    policyId: SUPPORT_PROFILE.policy.id,
    cedar: readPolicyFile(__dirname),
    description: 'Support: customers, email to allowed domains, refunds, escalation.',
  },
};
export * from './prompts';
