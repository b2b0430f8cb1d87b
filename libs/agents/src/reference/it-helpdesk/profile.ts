import { AgentProfile } from '../../agent-profile';
import { IT_HELPDESK_TOOLS } from './tools';

export const IT_HELPDESK_PROFILE: AgentProfile = AgentProfile.parse({
  name: 'it-helpdesk',
  version: 1,
  description:
    'Answers IT questions from the knowledge base, opens tickets, resets passwords with the user, installs approved software with IT.',
  model: 'gpt-4o-mini',
  prompt: { id: 'it-helpdesk', version: '1' },
  tools: IT_HELPDESK_TOOLS.map((t) => t.name),
  policy: { id: 'it-helpdesk' },
  caps: {
    task: { tokens: 60_000, toolCalls: 12, wallClockMs: 600_000, usd: 0.5 },
    tenantDay: {
      usd: 50,
      classes: {
        kb_search: { count: 5_000 },
        ticket: { count: 500 },
        password_reset: { count: 50 },
        software_install: { count: 100 },
      },
    },
  },
  loopThreshold: 3,
  rateLimits: { kb_search: 600, ticket: 60, password_reset: 10, software_install: 20 },
  maxSteps: 15,
  approvals: {
    // The end user confirms first (a reset is theirs to want); the service desk picks up what they leave.
    chain: ['end-user', 'it-service-desk'],
    ttlMs: 30 * 60_000,
  },
});
