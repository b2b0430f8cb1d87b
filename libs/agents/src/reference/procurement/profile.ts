import { AgentProfile } from '../../agent-profile';
import { PROCUREMENT_TOOLS } from './tools';

export const PROCUREMENT_PROFILE: AgentProfile = AgentProfile.parse({
  name: 'procurement',
  version: 1,
  description:
    'Keeps stock above reorder points by placing purchase orders, within a per-order limit and a daily cap.',
  model: 'gpt-4o-mini',
  prompt: { id: 'procurement', version: '1' },
  tools: PROCUREMENT_TOOLS.map((t) => t.name),
  policy: { id: 'procurement' },
  caps: {
    task: { tokens: 80_000, toolCalls: 30, wallClockMs: 900_000, usd: 1 },
    tenantDay: {
      usd: 100,
      classes: {
        // A bad inventory feed cannot order without bound: $10,000 an order, $50,000 a day.
        purchase_order: { perActionUsd: 10_000, amountUsd: 50_000, count: 200 },
        purchase_order_cancel: { count: 200 },
        transfer: { amountUsd: 10_000, count: 20 },
      },
    },
  },
  loopThreshold: 3,
  // Generous on orders: the daily cap is what bounds a runaway, the rate limit only its speed.
  rateLimits: { purchase_order: 300, purchase_order_cancel: 60, transfer: 10, inventory_read: 600 },
  maxSteps: 40,
  approvals: { chain: ['procurement-managers', 'finance'], ttlMs: 4 * 3_600_000 },
});
