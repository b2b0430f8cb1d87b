import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { launch, runLeash, type Launched } from './e2e/support/processes';

const SERVICES = ['planner', 'policy', 'budget', 'approvals', 'executor'];

/** Each service's line: name, time to ack, instance. */
function ackLines(stdout: string): Map<string, number> {
  const lines = new Map<string, number>();
  for (const match of stdout.matchAll(/^\s+(\w+)\s+([\d.]+) ms\s+instance e2e-launcher/gm)) {
    lines.set(match[1], Number(match[2]));
  }
  return lines;
}

describe('the leash CLI against a running npm start', () => {
  let dir: string;
  let launcher: Launched | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-cli-e2e-'));
  });

  afterAll(async () => {
    await launcher?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('kills every service, prints each acknowledgement with its time, resumes, and the launcher still stops cleanly', async () => {
    const env = {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      NO_COLOR: '1',
    };
    const started = launch('apps/leash/src/start.ts', {
      ...env,
      LEASH_INSTANCE_ID: 'e2e-launcher',
      LOG_LEVEL: 'info',
      LEASH_DEMO: 'false',
    });
    launcher = started;
    await started.waitForOutput('Leash is up', {
      timeoutMs: 60_000,
      description: 'the launcher to report that it is up',
    });
    expect(started.output()).toContain('Leash is up');

    const killed = await runLeash(['kill', '--all', '--reason', 'test'], env);
    expect(killed.stderr).toBe('');
    expect(killed.code).toBe(0);
    expect(killed.stdout).toContain('kill (all) by ');
    const killAcks = ackLines(killed.stdout);
    expect([...killAcks.keys()].sort()).toEqual([...SERVICES].sort());
    for (const ms of killAcks.values()) expect(ms).toBeGreaterThan(0);
    expect(killed.stdout).toMatch(/killed: 5 services acknowledged in [\d.]+ ms/);
    // The services applied it: each logged the kill.
    await waitFor(
      () =>
        (started.output().match(/kill [0-9a-f-]+ \(all\) by .*: 0 in-flight/g) ?? []).length === 5,
      {
        description: 'each service to log the kill',
      },
    );

    const resumed = await runLeash(['resume', '--all', '--reason', 'test over'], env);
    expect(resumed.code).toBe(0);
    expect([...ackLines(resumed.stdout).keys()].sort()).toEqual([...SERVICES].sort());
    expect(resumed.stdout).toMatch(/resumed: 5 services acknowledged in [\d.]+ ms/);

    const list = await runLeash(['approvals', 'list'], env);
    expect(list).toMatchObject({ code: 0, stdout: 'no pending approvals\n' });
    const unknown = await runLeash(['approvals', 'approve', 'apv-none', '--reviewer', 'ana'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('leash approvals approve: no approval request apv-none');

    const bad = await runLeash(['kill', '--tenant', 'acme', '--task', 't1', '--reason', 'x'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('leash: kill takes one scope, got --tenant and --task');

    started.child.kill('SIGTERM');
    await expect(started.ended).resolves.toEqual({ code: 0, signal: null });
    expect(started.output()).toContain('stopped cleanly');
  });

  it('exits non-zero naming the services that did not answer in time', async () => {
    const env = {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'idle', 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'idle', 'store.db'),
    };
    const nothing = await runLeash(['kill', '--all', '--reason', 'test'], env);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('does not exist: is Leash running (npm start)');

    // The engines exist, but no service runs on them.
    const engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'e2e' });
    await engines.close();
    const unanswered = await runLeash(
      ['kill', '--all', '--reason', 'test', '--timeout', '300'],
      env,
    );
    expect(unanswered.code).toBe(1);
    expect(unanswered.stderr).toContain(
      'leash kill: no acknowledgement within 300 ms from planner, policy, budget, approvals, executor',
    );
  });
});
