import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnKafka, waitFor } from '@leash/testing';
import { launch, runLeash, type Launched } from '../e2e/support/processes';

/** The `export NAME=value` lines the launcher prints, as an environment. */
function exportedIn(output: string): Record<string, string> {
  return Object.fromEntries(
    [...output.matchAll(/^ {2}export (\w+)=(\S+)$/gm)].map((match) => [match[1], match[2]]),
  );
}

/*
 * `npm run start:kafka` as a newcomer with Java runs it: six processes on
 * Kafka, the demo, and the CLI in another terminal with the variables it
 * printed: a printed approve command lets the waiting install run. Ctrl-C
 * (SIGINT) stops every process and exits 0.
 */
describeOnKafka('npm run start:kafka', (brokers) => {
  let dir: string;
  let launcher: Launched | undefined;

  afterAll(async () => {
    await launcher?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the demo on six processes; the CLI answers with the printed variables; Ctrl-C stops all', async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-start-kafka-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      LEASH_KAFKA_RUN_DIR: dir,
      LEASH_TOPIC_PREFIX: `start-kafka-${randomUUID().slice(0, 8)}.`,
      NO_COLOR: '1',
    };
    for (const name of [
      'LOG_LEVEL',
      'LEASH_REVIEWERS',
      'LEASH_DEMO',
      'LEASH_BUS',
      'LEASH_STORE_DIR',
    ])
      delete env[name];
    const started = launch('apps/leash/src/distributed/start-kafka.ts', env);
    launcher = started;
    await waitFor(
      () => started.output().includes('Leash keeps running') || started.child.exitCode !== null,
      { timeoutMs: 150_000, description: 'the demo summary' },
    );
    const output = started.output();
    expect(output).toContain('(left running on Ctrl-C)');
    const pids = [...output.matchAll(/^ {2}(\w+)-1 +pid (\d+), health/gm)];
    expect(pids.map((m) => m[1]).sort()).toEqual([
      'approvals',
      'audit',
      'budget',
      'executor',
      'planner',
      'policy',
    ]);
    expect(output).toMatch(/support\.email-outside-allowlist\s+REFUSED\s+send_email by policy/);
    expect(output).toMatch(/procurement\.bad-feed-200-zero\s+limit_exceeded/);

    const cli = { ...env, ...exportedIn(output) };
    expect(cli).toMatchObject({ LEASH_BUS: 'kafka', LEASH_STORE_DIR: join(dir, 'stores') });
    const waiting =
      /it-helpdesk\.install-slack\s+waiting\s+for 1 of it-service-desk: bin\/leash (approvals approve \S+ --reviewer \S+)/.exec(
        output,
      );
    expect(waiting).not.toBeNull();
    const approved = await runLeash(waiting![1]!.split(' '), cli);
    expect({ code: approved.code, stderr: approved.stderr }).toEqual({ code: 0, stderr: '' });
    expect(approved.stdout).toContain('accepted: authorized');
    await waitFor(
      () => /it-helpdesk\.install-slack\s+ran\s+install_software succeeded/.test(started.output()),
      { timeoutMs: 30_000, description: 'the install to run once approved' },
    );

    // A release made from the CLI reaches each process's own store through the control topic:
    // a task on it passes every gate (each looks the release up in its own catalog).
    const releaseFile = join(dir, 'support-2.yaml');
    writeFileSync(
      releaseFile,
      'description: a shorter prompt\nprompt:\n  text: You are the support agent of Acme. Look the customer up first; draft, do not send.\n',
    );
    const created = await runLeash(
      ['release', 'create', '--agent', 'support', '--file', releaseFile],
      cli,
    );
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    expect(created.stdout).toContain('made release support@2');
    const promoted = await runLeash(['release', 'promote', 'support@2', '--full'], cli);
    expect({ code: promoted.code, stderr: promoted.stderr }).toEqual({ code: 0, stderr: '' });
    const task = await runLeash(
      [
        'task',
        'submit',
        '--scenario',
        'support.order-status-draft',
        '--tenant',
        'release-check',
        '--watch',
      ],
      cli,
    );
    expect(task.code).toBe(0);
    expect(task.stdout).toMatch(/SUCCEEDED/);
    const taskId = /submitted task (\S+)/.exec(task.stdout)![1]!;
    const audit = await waitFor(
      async () => {
        const run = await runLeash(['audit', taskId, '--json'], cli);
        return run.code === 0 && /"status": "succeeded"/.test(run.stdout) ? run.stdout : undefined;
      },
      { timeoutMs: 30_000, description: 'the audit to record the task on support@2' },
    );
    expect(audit).toContain('"agentVersion": 2');

    started.child.kill('SIGINT');
    expect(await started.exited).toBe(0);
    expect(started.output()).toContain('stopped cleanly');
    for (const [, , pid] of pids) {
      expect(() => process.kill(Number(pid), 0)).toThrow();
    }
  }, 240_000);
});
