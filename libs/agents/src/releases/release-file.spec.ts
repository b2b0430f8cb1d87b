import { CanaryThresholds } from '@leash/contracts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUPPORT_AGENT, SUPPORT_PROMPTS } from '../reference';
import { toolsetVersion } from '../tool-definition';
import type { ReleaseView } from './release-catalog';
import { ReleaseFileError, draftRelease, loadReleaseFile, parseReleaseFile } from './release-file';

const parent: ReleaseView = {
  agent: 'support',
  release: 1,
  description: 'seeded',
  author: 'seed',
  createdAt: '2026-12-01T00:00:00.000Z',
  profile: SUPPORT_AGENT.profile,
  prompt: { ...SUPPORT_AGENT.profile.prompt, text: SUPPORT_PROMPTS[0]!.text },
  policy: { id: 'support', version: 1, cedar: SUPPORT_AGENT.policy.cedar },
  toolsVersion: toolsetVersion(SUPPORT_AGENT.tools),
  canary: CanaryThresholds.parse({}),
  seeded: true,
};

function draft(text: string, options: { parent?: ReleaseView; agent?: string } = {}) {
  return draftRelease({
    agent: options.agent ?? 'support',
    release: 2,
    ...(options.parent ? { parent: options.parent } : {}),
    file: parseReleaseFile(text, 'release.yaml', '/'),
    author: 'ops@example',
    now: new Date('2026-12-04T00:00:00.000Z'),
    policyVersionOf: async (_id, cedar) => (cedar === SUPPORT_AGENT.policy.cedar ? 1 : undefined),
    nextPolicyVersion: async () => 2,
    toolsVersion: (names) => {
      const unknown = names.filter((n) => !SUPPORT_AGENT.tools.some((t) => t.name === n));
      if (unknown.length > 0) throw new Error(`no tool "${unknown[0]}" in this deployment`);
      return toolsetVersion(SUPPORT_AGENT.tools.filter((t) => names.includes(t.name)));
    },
  });
}

describe('release files', () => {
  it('names the field and the line of every problem', () => {
    const text = [
      'description: x',
      'maxSteps: -3',
      'tols: [a]',
      'caps:',
      '  task:',
      '    tokens: ten',
    ].join('\n');
    let error: ReleaseFileError | undefined;
    try {
      parseReleaseFile(text, 'bad.yaml', '/');
    } catch (caught) {
      error = caught as ReleaseFileError;
    }
    expect(error).toBeInstanceOf(ReleaseFileError);
    expect(error!.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^maxSteps \(line 2\): /),
        expect.stringMatching(/^tols \(line 3\): not a field here/),
        expect.stringMatching(/^caps\.task\.tokens \(line 6\): .*number/),
      ]),
    );
  });

  it('reports a syntax error with its line', () => {
    expect(() => parseReleaseFile('model: gpt-4o\nmodel: gpt-4o\n', 'f.yaml', '/')).toThrow(
      /line 2: .*unique/,
    );
  });

  it('reads JSON as well, and the prompt and policy from files beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-release-'));
    try {
      writeFileSync(join(dir, 'prompt.md'), 'Be brief.\n');
      writeFileSync(join(dir, 'policy.cedar'), 'permit (principal, action, resource);\n');
      writeFileSync(
        join(dir, 'release.json'),
        JSON.stringify({ prompt: { file: 'prompt.md' }, policy: { file: 'policy.cedar' } }),
      );
      const loaded = loadReleaseFile(join(dir, 'release.json'));
      expect(loaded.promptText).toBe('Be brief.');
      expect(loaded.cedar).toBe('permit (principal, action, resource);\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a prompt given both as text and as a file', () => {
    expect(() => parseReleaseFile('prompt:\n  text: a\n  file: b.md\n', 'f.yaml', '/')).toThrow(
      /prompt \(line 2\): give the prompt as text or as file/,
    );
  });
});

describe('drafting a release', () => {
  it("keeps the parent's bundle where the file is silent, and versions a new prompt by its text", async () => {
    const created = await draft('description: shorter prompt\nprompt:\n  text: Be brief.\n', {
      parent,
    });
    expect(created).toMatchObject({
      agent: 'support',
      release: 2,
      parent: 1,
      description: 'shorter prompt',
      author: 'ops@example',
      policy: { id: 'support', version: 1 },
      toolsVersion: parent.toolsVersion,
    });
    expect(created.prompt).toEqual({
      id: 'support',
      version: expect.stringMatching(/^[0-9a-f]{12}$/),
      text: 'Be brief.',
    });
    expect(created.profile).toMatchObject({
      name: 'support',
      version: 2,
      model: SUPPORT_AGENT.profile.model,
      caps: SUPPORT_AGENT.profile.caps,
      // The profile pins the policy version the release carries.
      policy: { id: 'support', version: 1 },
    });
  });

  it('gives a changed policy text the next version', async () => {
    const created = await draft('policy:\n  cedar: "permit (principal, action, resource);"\n', {
      parent,
    });
    expect(created.policy.version).toBe(2);
    expect(created.prompt.version).toBe(parent.prompt.version);
  });

  it("refuses an agent's first release that leaves out what it needs", async () => {
    await expect(draft('model: gpt-4o-mini\n', { agent: 'ops-bot' })).rejects.toThrow(
      /prompt: a first release needs prompt.text or prompt.file/,
    );
    await expect(
      draft('prompt:\n  text: hi\npolicy:\n  cedar: "permit (principal, action, resource);"\n', {
        agent: 'ops-bot',
      }),
    ).rejects.toThrow(/model: missing: a first release must give it/);
  });

  it('refuses a tool the deployment does not have', async () => {
    await expect(draft('tools: [lookup_customer, launch_rocket]\n', { parent })).rejects.toThrow(
      /tools: no tool "launch_rocket"/,
    );
  });
});
