import { AgentProfile } from '../../agent-profile';
import { SUPPORT_TOOLS } from './tools';

export const SUPPORT_PROFILE: AgentProfile = AgentProfile.parse({
  name: 'support',
  version: 1,
  description:
    'Answers customers: looks them up, drafts and sends email to allowed domains, refunds (a person above $100), escalates.',
  model: 'gpt-4o-mini',
  prompt: { id: 'support', version: '1' },
  tools: SUPPORT_TOOLS.map((t) => t.name),
  policy: { id: 'support' },
  caps: {
    task: { tokens: 60_000, toolCalls: 15, wallClockMs: 600_000, usd: 0.5 },
    tenantDay: {
      usd: 50,
      classes: {
        refund: { perActionUsd: 1_000, amountUsd: 5_000, count: 200 },
        email: { count: 2_000 },
        escalation: { count: 1_000 },
      },
    },
  },
  // Sending to an allowed customer domain is this agent's job; the domain rule and taint rule still apply.
  liftIrreversibleApproval: ['send_email'],
  loopThreshold: 3,
  rateLimits: { email: 120, refund: 30, escalation: 60, customer_read: 600 },
  maxSteps: 20,
  approvals: { chain: ['support-leads'], ttlMs: 2 * 3_600_000 },
});
