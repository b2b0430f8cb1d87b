import { basename, join } from 'node:path';
import { agentFoldersIn } from '../agent-folders/agent-folder';
import { AgentProfile } from '../agent-profile';
import { toolJsonSchema } from '../tool-definition';
import { REFERENCE_AGENTS, REFERENCE_TOOLS, toolSourceOf } from './index';
import { SUPPORT_SCENARIOS } from './support/prompts/scenarios';

describe('reference agents', () => {
  const agents = Object.values(REFERENCE_AGENTS);

  it("are the agent folders beside this file, each loaded as a team's would be", () => {
    const folders = agentFoldersIn(__dirname);
    expect(folders.length).toBeGreaterThan(0);
    expect(Object.keys(REFERENCE_AGENTS).sort()).toEqual(folders.map((dir) => basename(dir)));
    for (const agent of agents) {
      expect(agent.source.dir).toBe(join(__dirname, agent.profile.name));
      expect(agent.prompt).toEqual({ ...agent.profile.prompt, text: expect.any(String) });
    }
  });

  it.each(agents.map((a) => [a.profile.name, a] as const))(
    '%s: profile, tools and policy agree',
    (_, agent) => {
      expect(AgentProfile.parse(agent.profile)).toEqual(agent.profile);
      expect(agent.tools.map((t) => t.name).sort()).toEqual([...agent.profile.tools].sort());
      expect(agent.policy.policyId).toBe(agent.profile.policy.id);
      expect(agent.policy.cedar).toMatch(/permit/);
      for (const tool of agent.tools) {
        expect(REFERENCE_TOOLS.tool(tool.name)).toBe(tool);
        if (tool.compensation) expect(REFERENCE_TOOLS.tool(tool.compensation.tool)).toBeDefined();
        // Every parameter is described for the model.
        const schema = toolJsonSchema(tool) as {
          properties: Record<string, { description?: string }>;
        };
        for (const [name, property] of Object.entries(schema.properties)) {
          expect([tool.name, name, property.description]).toEqual([
            tool.name,
            name,
            expect.any(String),
          ]);
        }
      }
      for (const actionClass of Object.keys(agent.profile.rateLimits)) {
        expect([actionClass, agent.tools.some((t) => t.actionClass === actionClass)]).toEqual([
          actionClass,
          true,
        ]);
      }
    },
  );

  it('puts the money limits the gates test against in the caps', () => {
    const procurement = REFERENCE_AGENTS['procurement']!.profile.caps.tenantDay.classes;
    expect(procurement['purchase_order']).toMatchObject({
      perActionUsd: 10_000,
      amountUsd: 50_000,
    });
    expect(procurement['transfer']).toMatchObject({ amountUsd: 10_000 });
    expect(REFERENCE_TOOLS.tool('place_purchase_order')).toMatchObject({
      amountField: 'amountUsd',
      actionClass: 'purchase_order',
    });
    expect(REFERENCE_TOOLS.tool('transfer_funds')).toMatchObject({
      amountField: 'amountUsd',
      actionClass: 'transfer',
    });
    expect(REFERENCE_TOOLS.tool('issue_refund')).toMatchObject({ amountField: 'amountUsd' });
  });

  it('builds the undo of a purchase order from its result', () => {
    const place = REFERENCE_TOOLS.tool('place_purchase_order')!;
    expect(place.compensation!.arguments({}, { orderId: 'PO-7' })).toMatchObject({
      orderId: 'PO-7',
    });
  });

  it('answers a refund with what ran, which a reviewer may have edited, not what was asked', () => {
    const scenario = SUPPORT_SCENARIOS.find((s) => s.id === 'support.refund-over-threshold')!;
    const refund = {
      turn: 2,
      tool: 'issue_refund',
      status: 'succeeded' as const,
      output: { refundId: 'RF-1', orderId: 'O-5001', amountUsd: 90 },
    };
    const answer = scenario.script({
      agent: 'support',
      input: scenario.input,
      turn: 2,
      observations: [refund],
      lastTurn: [refund],
      notices: [],
    });
    expect(answer).toEqual({ final: 'Refunded $90 of O-5001 (RF-1).' });
  });

  it('refuses two definitions under one name', () => {
    const tool = REFERENCE_TOOLS.tool('search_kb')!;
    expect(() => toolSourceOf([tool, { ...tool }])).toThrow(
      /two tool definitions are named search_kb/,
    );
  });
});
