import { readPolicyFile, type ReferenceAgent } from '../reference-agent';
import { PROCUREMENT_PROFILE } from './profile';
import { PROCUREMENT_TOOLS } from './tools';

export * from './tools';
export { PROCUREMENT_PROFILE } from './profile';

export const PROCUREMENT_AGENT: ReferenceAgent = {
  profile: PROCUREMENT_PROFILE,
  tools: PROCUREMENT_TOOLS,
  policy: {
    policyId: PROCUREMENT_PROFILE.policy.id,
    cedar: readPolicyFile(__dirname),
    description: 'Procurement: inventory, purchase orders within limits, supplier payments.',
  },
};
export * from './prompts';
