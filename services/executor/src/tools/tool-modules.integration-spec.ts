import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REFERENCE_AGENT_SET, agentSetOf, loadAgentFolder, REFERENCE_TOOLS } from '@leash/agents';
import { registryForAgents } from './tool-modules';

const EXAMPLE = resolve(__dirname, '../../../../examples/ops-bot');

describe('tool modules (LEASH_TOOL_MODULES)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'leash-tool-modules-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const agents = () =>
    agentSetOf([...REFERENCE_AGENT_SET.agents, loadAgentFolder(EXAMPLE, REFERENCE_TOOLS)]);

  it("registers a team's tool beside the shipped ones", () => {
    const registry = registryForAgents(agents(), [join(EXAMPLE, 'tools.js')]);
    expect(registry.get('send_slack_message')?.definition.riskClass).toBe('write');
    expect(registry.get('lookup_customer')).toBeDefined();
  });

  it('refuses to start without an implementation of a tool an agent names', () => {
    expect(() => registryForAgents(agents(), [])).toThrow(
      /no implementation of send_slack_message: set LEASH_TOOL_MODULES/,
    );
  });

  it('refuses a module that exports no tools, or a tool no agent defines', () => {
    const empty = join(dir, 'empty.js');
    writeFileSync(empty, 'exports.helpers = {};\n');
    expect(() => registryForAgents(agents(), [empty])).toThrow(/exports no `tools` object/);
    const stray = join(dir, 'stray.js');
    writeFileSync(stray, 'exports.tools = { launch_rocket: async () => ({}) };\n');
    expect(() => registryForAgents(REFERENCE_AGENT_SET, [stray])).toThrow(
      /launch_rocket .*: no agent defines this tool/,
    );
    expect(() => registryForAgents(REFERENCE_AGENT_SET, [join(dir, 'missing.js')])).toThrow(
      /does not exist/,
    );
  });
});
