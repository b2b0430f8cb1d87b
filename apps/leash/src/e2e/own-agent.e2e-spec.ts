import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@leash/testing';
import { runCli } from '../cli';
import type { Terminal } from '../cli/terminal';
import { FakeOpenAi, type ChatRequest, type ChatTurn } from './fake-openai';
import { launch, ROOT, type Launched } from './support/processes';

/*
 * README, "Add your own agent", followed as a team would: the example folder
 * (examples/ops-bot: agent.yaml, prompt.md, policy.cedar, tools.yaml, and
 * its tool code in tools.js) copied out of the repository, Leash started
 * with LEASH_AGENT_DIRS and LEASH_TOOL_MODULES, tasks submitted and an
 * approval answered from the CLI; then the folder's policy edited, which
 * Leash reports at the next start without applying, and published as a
 * release. No file of Leash is touched. The model is a local server that
 * speaks the OpenAI API; Slack is a local webhook.
 */

/** Answers as a model would: one send_slack_message call to the channel the task names, then a final line. */
function decide(request: ChatRequest): ChatTurn {
  const task = request.messages.find((m) => m.role === 'user')?.content ?? '';
  const channel = /#[a-z0-9_-]+/.exec(task.replace(/#ops-bot/g, ''))?.[0] ?? '#ops';
  if (request.messages.some((m) => m.role === 'tool')) return { answer: `Posted to ${channel}.` };
  return { call: { name: 'send_slack_message', args: { channel, text: 'Deploy 42 finished.' } } };
}

/** A Slack incoming webhook: records each post and its idempotency key. */
class FakeSlack {
  readonly posts: { channel: string; text: string; key: string }[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const { channel, text } = JSON.parse(raw) as { channel: string; text: string };
        this.posts.push({ channel, text, key: String(req.headers['idempotency-key']) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/ops`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

describe('add your own agent (README), from a folder outside Leash', () => {
  const model = new FakeOpenAi(decide);
  const slack = new FakeSlack();
  let work: string;
  let env: Record<string, string>;
  let launcher: Launched | undefined;
  /** What the last Leash started has written. */
  const output = (): string => launcher?.output() ?? '';

  beforeAll(async () => {
    await Promise.all([model.start(), slack.start()]);
    work = mkdtempSync(join(tmpdir(), 'leash-own-agent-'));
    // The team's repository: the example folder copied out of Leash's.
    cpSync(join(ROOT, 'examples/ops-bot'), join(work, 'my-agents/ops-bot'), { recursive: true });
    env = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      USER: 'ops-lead',
      NO_COLOR: '1',
      LEASH_BUS_FILE: join(work, '.leash/bus.db'),
      LEASH_STORE_FILE: join(work, '.leash/store.db'),
      LEASH_AGENT_DIRS: join(work, 'my-agents'),
      LEASH_TOOL_MODULES: join(work, 'my-agents/ops-bot/tools.js'),
      LEASH_DEMO: 'false',
      OPENAI_BASE_URL: model.url,
      OPENAI_API_KEY: 'sk-test',
      SLACK_WEBHOOK_URL: slack.url,
    };
  });

  afterAll(async () => {
    await stopLeash();
    await Promise.all([model.stop(), slack.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  async function startLeash(): Promise<void> {
    const started = launch('apps/leash/src/start.ts', env);
    launcher = started;
    await started.waitForOutput('Leash is up', {
      timeoutMs: 60_000,
      description: 'Leash to start',
    });
    if (started.child.exitCode !== null) {
      throw new Error(`Leash did not start:\n${started.output()}`);
    }
  }

  async function stopLeash(): Promise<void> {
    const running = launcher;
    launcher = undefined;
    await running?.stop('SIGINT');
  }

  async function leash(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = { out: (l) => out.push(l), err: (l) => err.push(l) };
    const code = await runCli(argv, env, terminal);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('runs ops-bot: #ops on its own, another channel once an ops lead approves', async () => {
    await startLeash();

    const ops = await leash(
      'task',
      'submit',
      '--agent',
      'ops-bot',
      '--input',
      'Deploy 42 of the billing service finished; tell #ops.',
      '--watch',
    );
    expect(ops.code).toBe(0);
    expect(ops.out).toMatch(/SUCCEEDED/);
    expect(slack.posts).toEqual([
      { channel: '#ops', text: 'Deploy 42 finished.', key: expect.stringMatching(/:1:0$/) },
    ]);

    // An ops lead with a key of their own, in the ops-leads group.
    const keyFile = join(work, 'keys/ops-lead.key');
    expect(
      (await leash('reviewers', 'keygen', '--reviewer', 'lee@ops.example', '--key-file', keyFile))
        .code,
    ).toBe(0);
    const added = await leash(
      'reviewers',
      'add',
      '--reviewer',
      'lee@ops.example',
      '--group',
      'ops-leads',
      '--public-key',
      `@${join(work, 'keys/ops-lead.pub')}`,
    );
    expect(added).toMatchObject({ code: 0 });

    const general = await leash(
      'task',
      'submit',
      '--agent',
      'ops-bot',
      '--input',
      'Deploy 42 finished; tell #general too.',
    );
    expect(general.code).toBe(0);
    const waiting = await waitFor(
      async () => {
        const listed = await leash('approvals', 'list');
        return /send_slack_message/.test(listed.out) ? listed.out : undefined;
      },
      { timeoutMs: 30_000, description: 'the #general message to wait for an ops lead' },
    );
    expect(waiting).toMatch(/#general/);
    expect(slack.posts).toHaveLength(1);
    const approvalId = /apr_[0-9a-f]+/.exec(waiting)![0];
    const approved = await leash(
      'approvals',
      'approve',
      approvalId,
      '--reviewer',
      'lee@ops.example',
      '--key-file',
      keyFile,
    );
    expect(approved).toMatchObject({ code: 0 });
    await waitFor(() => slack.posts.length === 2 || undefined, {
      timeoutMs: 30_000,
      description: 'the approved message to be posted',
    });
    expect(slack.posts[1]).toMatchObject({ channel: '#general' });
  });

  it('reports an edited policy at start-up without applying it, and runs it once published', async () => {
    await stopLeash();
    const policyFile = join(work, 'my-agents/ops-bot/policy.cedar');
    writeFileSync(
      policyFile,
      readFileSync(policyFile, 'utf8').replace(
        /@id\("other-channels-need-an-ops-lead"\)[\s\S]*$/,
        [
          '@id("ops-only")',
          '@reason("ops-bot posts to #ops only")',
          'forbid (principal, action == Action::"send_slack_message", resource)',
          'when { context.args.channel != "#ops" };',
          '',
        ].join('\n'),
      ),
    );
    await startLeash();
    const agentFile = join(work, 'my-agents/ops-bot/agent.yaml');
    expect(output()).toContain(
      `agent ops-bot: the policy (release: ops-bot v1) in ${join(work, 'my-agents/ops-bot')} differs from release @1, which runs its tasks; nothing was changed.`,
    );
    expect(output()).toContain(`leash release create --agent ops-bot --file ${agentFile}`);

    // Not applied: a #general message still goes to an ops lead.
    await leash('task', 'submit', '--agent', 'ops-bot', '--input', 'Tell #general: lunch.');
    await waitFor(
      async () => /lunch|#general/.test((await leash('approvals', 'list')).out) || undefined,
      { timeoutMs: 30_000, description: 'the message to wait for an ops lead under release 1' },
    );

    const published = await leash('policy', 'publish', '--agent', 'ops-bot', '--file', policyFile);
    expect(published.code).toBe(0);
    expect(published.out).toMatch(/\+ @id\("ops-only"\)/);
    expect(published.out).toMatch(/made release ops-bot@2/);
    expect((await leash('release', 'promote', 'ops-bot@2', '--full')).code).toBe(0);

    const refused = await leash(
      'task',
      'submit',
      '--agent',
      'ops-bot',
      '--input',
      'Tell #random: deploy 43 finished.',
      '--watch',
    );
    expect(refused.out).toMatch(/policy gate refused send_slack_message|ops-only/);
    expect(slack.posts.some((p) => p.channel === '#random')).toBe(false);
  });

  it('refuses to start on a folder that does not load, or a tool without code, naming what to fix', async () => {
    await stopLeash();
    const agentFile = join(work, 'my-agents/ops-bot/agent.yaml');
    const good = readFileSync(agentFile, 'utf8');
    writeFileSync(agentFile, good.replace('maxSteps: 6', 'maxSteps: many'));
    try {
      await expect(startLeash()).rejects.toThrow(/did not start/);
      expect(output()).toContain('Invalid configuration of the agents of LEASH_AGENT_DIRS');
      expect(output()).toMatch(
        /agent\.yaml is not a valid agent file:\n\s+- maxSteps \(line \d+\): /,
      );
      expect(output()).not.toMatch(/^\s+at /m);
    } finally {
      writeFileSync(agentFile, good);
    }
    const withoutCode = { ...env };
    delete (withoutCode as Record<string, string | undefined>).LEASH_TOOL_MODULES;
    const saved = env;
    env = withoutCode;
    try {
      await expect(startLeash()).rejects.toThrow(/did not start/);
      expect(output()).toContain('no implementation of send_slack_message: set LEASH_TOOL_MODULES');
    } finally {
      env = saved;
    }
  });
});
