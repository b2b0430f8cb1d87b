import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@leash/testing';
import { launch, runLeash, type Launched } from './support/processes';

/*
 * `npm start` as a person runs it: no setup beyond temp engine files. The
 * demo submits its tasks, prints their progress and a summary with the
 * commands that answer what waits for a person; running the printed
 * command from another process lets the waiting refund go on.
 */

describe('npm start with the demo', () => {
  let dir: string;
  let launcher: Launched | undefined;

  afterAll(async () => {
    await launcher?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the demo tasks live, then how to answer what waits; the printed command works', async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-demo-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      NO_COLOR: '1',
    };
    delete env.LOG_LEVEL;
    delete env.LEASH_REVIEWERS;
    delete env.LEASH_DEMO;
    const started = launch('apps/leash/src/start.ts', env);
    launcher = started;
    await waitFor(
      () => started.output().includes('Leash keeps running') || started.child.exitCode !== null,
      { timeoutMs: 90_000, description: 'the demo summary' },
    );
    const output = started.output();
    expect(output).toContain('Leash is up');
    // Human lines, not JSON logs.
    expect(output).not.toMatch(/^\{"level"/m);
    expect(output).toMatch(
      /support\.email-outside-allowlist\s+REFUSED\s+send_email by policy \(policy_denied\)/,
    );
    expect(output).toMatch(/it-helpdesk\.injected-executive-reset\s+WAITING\s+reset_password/);

    // install-slack waits for one person of it-service-desk; the summary prints the command.
    const waiting =
      /it-helpdesk\.install-slack\s+waiting\s+for 1 of it-service-desk: (bin\/leash approvals approve (\S+) --reviewer (\S+))/.exec(
        output,
      );
    expect(waiting).not.toBeNull();
    const [, command, approvalId, reviewer] = waiting!;
    expect(reviewer).toBe('ana.it-service-desk');
    // The demo reviewers' keys were made beside the store, private to the user, and never shown.
    expect(statSync(join(dir, 'reviewer-keys', `${reviewer}.key`)).mode & 0o777).toBe(0o600);
    expect(output).toContain(`approve signs with their keys in ${join(dir, 'reviewer-keys')}`);
    expect(output).not.toContain('PRIVATE KEY');
    const approved = await runLeash(command.split(' ').slice(1), env);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/signed with key ed25519:[0-9a-f]{16}/);
    await waitFor(
      () => /it-helpdesk\.install-slack\s+ran\s+install_software succeeded/.test(started.output()),
      { description: `the install to run once ${approvalId} is approved` },
    );

    // A clean stop on SIGTERM is start.integration-spec.ts's to check.
    started.child.kill('SIGTERM');
    await started.exited;
  });
});
