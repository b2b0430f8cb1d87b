import { REFERENCE_AGENTS, REFERENCE_TOOLS } from '@leash/agents';
import { TaskStatus } from '@leash/contracts';
import { openLoopHarness, type LoopHarness } from '../test/loop-harness';
import { REFERENCE_PROMPTS, REFERENCE_SCENARIOS, ScenarioRegistry } from './reference-scenarios';

/** Canned tool output shaped like the simulated backends', so scripts can read it. */
function output(tool: string, args: Record<string, unknown>): unknown {
  switch (tool) {
    case 'search_kb':
      return { articles: [{ articleId: 'KB-001', title: 'Connecting to the VPN', body: '...' }] };
    case 'read_inventory':
      return {
        items: [
          {
            sku: 'PAPER-A4',
            location: 'WH-1',
            onHand: 12,
            reorderPoint: 50,
            onOrder: 0,
            supplierId: 'SUP-OFFICE',
            unitPriceUsd: 24.5,
          },
        ],
      };
    case 'place_purchase_order':
      return { orderId: `PO-${String(args['sku'])}`, status: 'placed' };
    case 'lookup_customer':
      return {
        customer: { customerId: 'C-1', email: String(args['customer']) },
        orders: ['O-5001', 'O-5002', 'O-5003', 'O-5004'].map((orderId) => ({
          orderId,
          item: 'Noise-cancelling headphones',
          paidUsd: 240,
        })),
      };
    case 'open_ticket':
      return { ticketId: 'T-1', status: 'open' };
    default:
      return { ok: true };
  }
}

describe('the reference scenarios', () => {
  let h: LoopHarness;
  afterEach(() => h?.close());

  it('ship at least ten scenarios per agent, with unique ids and sound expectations', () => {
    const registry = new ScenarioRegistry();
    expect(registry.all()).toHaveLength(REFERENCE_SCENARIOS.length);
    for (const agent of Object.keys(REFERENCE_AGENTS)) {
      expect([agent, REFERENCE_SCENARIOS.filter((s) => s.agent === agent).length >= 10]).toEqual([
        agent,
        true,
      ]);
    }
    for (const scenario of REFERENCE_SCENARIOS) {
      const profile = REFERENCE_AGENTS[scenario.agent]!.profile;
      expect(scenario.id.startsWith(`${scenario.agent}.`)).toBe(true);
      expect(TaskStatus.options).toContain(scenario.expect.status);
      for (const tool of [...scenario.expect.requiredTools, ...scenario.expect.forbiddenTools]) {
        expect([scenario.id, tool, profile.tools.includes(tool)]).toEqual([
          scenario.id,
          tool,
          true,
        ]);
      }
    }
    for (const { profile } of Object.values(REFERENCE_AGENTS)) {
      expect(
        REFERENCE_PROMPTS.some(
          (p) => p.id === profile.prompt.id && p.version === profile.prompt.version,
        ),
      ).toBe(true);
    }
  });

  // Every script runs to an answer against an obliging world, and proposes arguments its tools accept
  // (a scenario that should be refused must be refused by a rule, not by a typo).
  it.each(REFERENCE_SCENARIOS.map((s) => [s.id, s] as const))(
    '%s plays to an answer',
    async (_, scenario) => {
      h = await openLoopHarness({ scenarios: [scenario] });
      const taskId = await h.start(scenario);
      for (let turn = 0; turn < 50; turn++) {
        const task = await h.task(taskId);
        if (task.status !== 'running') break;
        if (task.phase === 'awaiting_budget') {
          await h.decide(taskId);
          continue;
        }
        for (const call of task.turn.filter((c) => c.actionId && !c.outcome)) {
          const tool = REFERENCE_TOOLS.tool(call.tool)!;
          const parsed = tool.parameters.safeParse(call.arguments);
          expect([scenario.id, call.tool, parsed.success ? 'valid' : parsed.error.message]).toEqual(
            [scenario.id, call.tool, 'valid'],
          );
          // A stuck model (tagged `loop`, or the first such scenario) meets the loop rule from step 3.
          if (
            (scenario.tags.includes('loop') || scenario.id === 'it-helpdesk.loop-escalates') &&
            task.step >= 3
          ) {
            await h.reject(call.actionId!, 'loop_detected', 'same arguments again');
          } else if (scenario.tags.includes('cost-runaway') && task.step >= 3) {
            // A runaway model meets a budget cap from step 3.
            await h.reject(call.actionId!, 'cap_exceeded', 'over the task cap', {
              gate: 'budget',
              cap: 'task.tool_calls',
            });
          } else {
            await h.complete(call.actionId!, output(call.tool, call.arguments ?? {}));
          }
        }
      }
      const task = await h.task(taskId);
      expect(task.status).not.toBe('running');
      // Tool failures come from the real backends only; here every call succeeds or is a loop.
      if (scenario.expect.status !== 'failed') expect(task.reason).not.toMatch(/failed/);
    },
  );
});
