import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REFERENCE_TOOLS } from '../reference';
import { toolJsonSchema } from '../tool-definition';
import { agentFoldersIn, loadAgentFolder } from './agent-folder';
import { agentSetOf } from './agent-set';

const EXAMPLE = resolve(__dirname, '../../../../examples/ops-bot');

describe('agent folders', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-agent-folder-'));
    cpSync(EXAMPLE, join(dir, 'ops-bot'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(
      join(dir, 'ops-bot', file),
      change(readFileSync(join(dir, 'ops-bot', file), 'utf8')),
    );

  it('loads the example: profile, prompt, policy and its own tool as data', () => {
    const agent = loadAgentFolder(join(dir, 'ops-bot'), REFERENCE_TOOLS);
    expect(agent.profile).toMatchObject({
      name: 'ops-bot',
      version: 1,
      model: 'gpt-4o-mini',
      tools: ['send_slack_message'],
      policy: { id: 'ops-bot' },
      prompt: { id: 'ops-bot', version: agent.prompt.version },
      approvals: { chain: ['ops-leads'] },
    });
    expect(agent.prompt.text).toMatch(/^You are ops-bot\./);
    expect(agent.prompt.text.endsWith('\n')).toBe(false);
    const [tool] = agent.tools;
    expect(tool!.parameters.safeParse({ channel: '#ops', text: 'hi' }).success).toBe(true);
    expect(tool!.parameters.safeParse({ channel: 'ops', text: 'hi' }).success).toBe(false);
    expect(tool!.parameters.safeParse({ channel: '#ops', text: 'hi', extra: 1 }).success).toBe(
      false,
    );
    expect(toolJsonSchema(tool!)).toMatchObject({ required: ['channel', 'text'] });
    expect(agentFoldersIn(dir)).toEqual([join(dir, 'ops-bot')]);
  });

  it('versions the prompt by its text, so an edit is a new version', () => {
    const before = loadAgentFolder(join(dir, 'ops-bot'), REFERENCE_TOOLS).prompt.version;
    edit('prompt.md', (text) => `${text}- Be brief.\n`);
    expect(loadAgentFolder(join(dir, 'ops-bot'), REFERENCE_TOOLS).prompt.version).not.toBe(before);
  });

  it('names a tool the agent lists but nobody defines', () => {
    edit('agent.yaml', (text) =>
      text.replace('  - send_slack_message', '  - send_slack_message\n  - page_oncall'),
    );
    expect(() => loadAgentFolder(join(dir, 'ops-bot'), REFERENCE_TOOLS)).toThrow(
      /tools: "page_oncall" is neither in .*tools\.yaml nor a tool Leash ships/,
    );
  });

  it('names the line of a bad tool field', () => {
    edit('tools.yaml', (text) => text.replace('riskClass: write', 'riskClass: dangerous'));
    expect(() => loadAgentFolder(join(dir, 'ops-bot'), REFERENCE_TOOLS)).toThrow(
      /0\.riskClass \(line \d+\): /,
    );
  });

  it('refuses a folder without a prompt, and two agents of one name', () => {
    edit('agent.yaml', (text) => text.replace(/prompt:\n  file: prompt.md\n/, ''));
    expect(() => loadAgentFolder(join(dir, 'ops-bot'), REFERENCE_TOOLS)).toThrow(
      /prompt: give prompt.file/,
    );
    const agent = loadAgentFolder(EXAMPLE, REFERENCE_TOOLS);
    expect(() => agentSetOf([agent, agent])).toThrow(/agent ops-bot is also defined in/);
  });
});
