import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCatalog, REFERENCE_AGENTS } from '@leash/agents';
import { AuditRecorder, auditEntries } from '@leash/audit';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { runCli } from './cli';
import { recordingTerminal } from './cli/testing/recording-terminal';

/*
 * `leash task submit` says what is wrong with a task before it reaches the
 * bus, instead of a stack trace or a task that fails later.
 */
describe('leash task submit: mistakes said at once', () => {
  let dir: string;
  let env: Record<string, string>;
  let engines: Engines;
  let recorder: AuditRecorder;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-submit-'));
    env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    // A running Leash: the catalog the services seed, and the audit recorder.
    engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'spec' });
    await new AgentCatalog(engines.store).seed(Object.values(REFERENCE_AGENTS));
    recorder = new AuditRecorder({ bus: engines.bus, store: engines.store });
    await recorder.start();
  });

  afterEach(async () => {
    await recorder.stop();
    await engines.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an input over the limit with the limit, exit 2', async () => {
    const run = recordingTerminal();
    const input = 'x'.repeat(120_000);
    const code = await runCli(
      ['task', 'submit', '--agent', 'it-helpdesk', '--input', input],
      env,
      run.t,
    );
    expect(code).toBe(2);
    expect(run.out).toEqual([]);
    expect(run.err.join('\n')).toMatch(/--input is 120000 characters; .* at most 100000/);
    expect(run.err.join('\n')).not.toMatch(/EventValidationError|\n\s+at /);
  });

  it('refuses an agent the catalog does not know, listing the known ones, exit 2', async () => {
    const run = recordingTerminal();
    const code = await runCli(['task', 'submit', '--agent', 'nope', '--input', 'hi'], env, run.t);
    expect(code).toBe(2);
    expect(run.out).toEqual([]);
    expect(run.err.join('\n')).toMatch(
      /no agent "nope" in the catalog; known agents: it-helpdesk, procurement, support/,
    );
  });

  it('says a task id already exists instead of submitting it again', async () => {
    const argv = ['task', 'submit', '--agent', 'support', '--input', 'hello', '--task-id', 'ext-7'];
    const first = recordingTerminal();
    expect(await runCli(argv, env, first.t)).toBe(0);
    expect(first.out[0]).toMatch(/^submitted task ext-7/);
    await waitFor(
      async () =>
        (await engines.store.repository(auditEntries).count({ where: { taskId: 'ext-7' } })) > 0,
      { description: 'the first submission in the audit log' },
    );

    const second = recordingTerminal();
    expect(await runCli(argv, env, second.t)).toBe(1);
    expect(second.out).toEqual([]);
    expect(second.err.join('\n')).toMatch(/task ext-7 already exists/);

    // Another id is still welcome.
    const other = recordingTerminal();
    const otherArgv = [
      'task',
      'submit',
      '--agent',
      'support',
      '--input',
      'hi',
      '--task-id',
      'ext-8',
    ];
    expect(await runCli(otherArgv, env, other.t)).toBe(0);
  });

  it('says when no planner consumes the bus: submit still submits, submit --watch exits 1 at once', async () => {
    const submit = recordingTerminal();
    expect(
      await runCli(['task', 'submit', '--agent', 'support', '--input', 'hi'], env, submit.t),
    ).toBe(0);
    expect(submit.out[0]).toMatch(/^submitted task /);
    expect(submit.err.join('\n')).toMatch(
      new RegExp(
        `no planner is consuming leash\\.tasks\\.requested on sqlite ${join(dir, 'bus.db').replace(/[.]/g, '\\.')}\\. .*same LEASH_BUS_FILE`,
      ),
    );
    const watched = recordingTerminal();
    const argv = ['task', 'submit', '--agent', 'support', '--input', 'hi', '--watch'];
    expect(await runCli(argv, env, watched.t)).toBe(1);
    // A watch plays a task's history back even then, so it says so and goes on (here until its timeout).
    const watch = recordingTerminal();
    expect(await runCli(['task', 'watch', 'some-task', '--timeout', '500'], env, watch.t)).toBe(
      124,
    );
    expect(watch.err[0]).toMatch(/^leash task watch: no planner is consuming .*will not move$/);
  });

  it('says nothing of it while a planner consumes the bus', async () => {
    const planner = await engines.bus.subscribe(
      'planner',
      ['tasks.requested'],
      async () => undefined,
    );
    try {
      const run = recordingTerminal();
      expect(
        await runCli(['task', 'submit', '--agent', 'support', '--input', 'hi'], env, run.t),
      ).toBe(0);
      expect(run.err).toEqual([]);
    } finally {
      await planner.close();
    }
  });
});
