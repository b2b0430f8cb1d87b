import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from '@leash/engines';
import { KillSwitch } from '@leash/kill-switch';
import { runCli } from './cli';
import type { Terminal } from './cli/terminal';
import { launch, type Launched } from './e2e/support/processes';

const ISSUED_AT = '2026-12-01T08:30:00.000Z';

/*
 * A kill outlives a restart, and so must its visibility: `leash kill list`
 * and the launcher's start-up lines say which kills are in force, who
 * issued them, when, why, and what lifts them.
 */
describe('active kills, seen', () => {
  let dir: string;
  let env: Record<string, string>;
  let launcher: Launched | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-active-kills-'));
    env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    // A kill --all issued before the restart, persisted as every service persists it.
    const engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'spec' });
    try {
      const killSwitch = await KillSwitch.open({
        store: engines.store,
        service: 'planner',
        instance: 'before-restart',
      });
      await killSwitch.apply({
        commandId: 'kill-1',
        scope: { kind: 'all' },
        reason: 'runaway refunds',
        rollback: false,
        issuedBy: 'ops@acme',
        issuedAt: ISSUED_AT,
      });
    } finally {
      await engines.close();
    }
  });

  afterEach(async () => {
    await launcher?.stop('SIGKILL');
    launcher = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('leash kill list names each kill in force and the command that lifts it', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const terminal: Terminal = { out: (l) => out.push(l), err: (l) => err.push(l) };
    expect(await runCli(['kill', 'list'], env, terminal)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toContain('1 kill in force');
    expect(out.join('\n')).toContain(
      `all: "runaway refunds", by ops@acme at ${ISSUED_AT} (command kill-1); lift it with bin/leash resume --all`,
    );
  });

  it('the launcher prints the kills in force at start-up', async () => {
    const started = launch('apps/leash/src/start.ts', {
      ...process.env,
      ...env,
      LEASH_DEMO: 'false',
      NO_COLOR: '1',
    });
    launcher = started;
    await started.waitForOutput('lift it with', {
      timeoutMs: 30_000,
      description: 'the launcher to print the kill in force',
    });
    await started.stop('SIGTERM');
    const output = started.output();
    expect(output).toContain('Leash is up');
    expect(output).toMatch(/1 kill in force: new tasks and calls in its scope are refused/);
    expect(output).toContain(
      `all: "runaway refunds", by ops@acme at ${ISSUED_AT} (command kill-1); lift it with bin/leash resume --all`,
    );
  });
});
