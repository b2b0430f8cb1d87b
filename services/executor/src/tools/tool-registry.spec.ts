import { REFERENCE_AGENTS, REFERENCE_TOOLS } from '@leash/agents';
import { REFERENCE_IMPLEMENTATIONS } from './reference-tools';
import { TestTool } from './test-tool';
import { ToolRegistry, createToolRegistry } from './tool-registry';

describe('ToolRegistry', () => {
  it('has an implementation for every tool of every reference agent, under its definition', () => {
    const registry = createToolRegistry();
    const declared = Object.values(REFERENCE_AGENTS).flatMap((agent) => agent.profile.tools);
    for (const name of declared) {
      expect(registry.get(name)?.definition).toBe(REFERENCE_TOOLS.tool(name));
    }
    expect(Object.keys(REFERENCE_IMPLEMENTATIONS).sort()).toEqual(REFERENCE_TOOLS.names);
  });

  it('registers every compensating tool a reference tool names', () => {
    const registry = createToolRegistry();
    for (const name of registry.names) {
      const undo = registry.tool(name)?.compensation?.tool;
      if (undo) expect(registry.get(undo)).toBeDefined();
    }
  });

  it('refuses two tools with one name, and wraps a tool keeping its definition', async () => {
    const probe = new TestTool();
    const registry = new ToolRegistry([probe]);
    expect(() => registry.register(probe.definition, probe.run)).toThrow(/registered twice/);
    const seen: string[] = [];
    registry.wrap('test_probe', (inner) => async (args, ctx) => {
      seen.push(ctx.actionId);
      return inner(args, ctx);
    });
    const tool = registry.get('test_probe')!;
    expect(tool.definition).toBe(probe.definition);
    await tool.run({ label: 'x' }, { actionId: 'a-1' } as never);
    expect(seen).toEqual(['a-1']);
    expect(registry.tool('nope')).toBeUndefined();
  });
});
