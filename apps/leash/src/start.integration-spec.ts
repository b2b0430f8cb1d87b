import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '@leash/bus';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope, type AnyEnvelope } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { launch, type Launched } from './e2e/support/processes';

const SERVICES = ['planner', 'policy', 'budget', 'approvals', 'executor'];

describe('the all-in-one launcher', () => {
  let dir: string;
  let launcher: Launched | undefined;
  let engines: Engines | undefined;
  let subscription: Subscription | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-start-'));
  });

  afterAll(async () => {
    await subscription?.close();
    await engines?.close();
    await launcher?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the five services on one embedded bus, acknowledges a kill, and stops cleanly on SIGTERM', async () => {
    const busFile = join(dir, 'data', 'bus.db');
    const started = launch('apps/leash/src/start.ts', {
      ...process.env,
      LEASH_BUS_FILE: busFile,
      LEASH_STORE_FILE: join(dir, 'data', 'store.db'),
      LEASH_INSTANCE_ID: 'it-launcher',
      LOG_LEVEL: 'info',
      LEASH_DEMO: 'false',
      NO_COLOR: '1',
    });
    launcher = started;

    await started.waitForOutput('Leash is up', {
      timeoutMs: 30_000,
      description: 'the launcher to report that it is up',
    });
    expect(started.output()).toContain('Leash is up: planner, policy, budget, approvals, executor');
    expect(started.output()).toContain(busFile);
    // Each gate's key pair was made beside the store, and no private key was printed.
    for (const gate of ['policy', 'budget', 'approvals']) {
      const [, privateKey] = readFileSync(join(dir, 'data', 'gate-keys', `${gate}.key`), 'utf8')
        .trim()
        .split(':');
      expect(privateKey).toMatch(/^MC4CAQAwBQYDK2Vw/);
      expect(started.output()).not.toContain(privateKey);
    }

    // The test's own bus on the same file: another process, as an operator's CLI would be.
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_BUS_FILE: busFile, LEASH_STORE_FILE: join(dir, 'test-store.db') },
    });
    engines = await openEngines(config, { source: 'integration-test' });
    const seen: AnyEnvelope[] = [];
    subscription = await engines.bus.subscribe(
      'integration-test',
      ['control'],
      async (delivery) => {
        seen.push(delivery.event);
      },
    );

    const kill = createEnvelope(
      'leash.control.kill.v1',
      {
        commandId: 'kill-1',
        scope: { kind: 'all' },
        reason: 'integration test',
        issuedBy: 'integration-test',
        issuedAt: new Date().toISOString(),
      },
      { source: 'integration-test' },
    );
    await engines.bus.publish('control', kill);

    const acks = await waitFor(
      () => {
        const found = seen.flatMap((event) =>
          event.type === 'leash.control.ack.v1' && event.data.commandId === 'kill-1'
            ? [event.data]
            : [],
        );
        return new Set(found.map((ack) => ack.service)).size === SERVICES.length
          ? found
          : undefined;
      },
      { timeoutMs: 20_000, description: 'an acknowledgement of the kill from each service' },
    );
    expect([...new Set(acks.map((ack) => ack.service))].sort()).toEqual([...SERVICES].sort());
    for (const ack of acks) {
      expect(ack).toMatchObject({ command: 'kill', instance: 'it-launcher', aborted: 0 });
    }

    started.child.kill('SIGTERM');
    const exit = await started.ended;
    expect(started.output()).toContain('stopped cleanly');
    expect(exit).toEqual({ code: 0, signal: null });
    // The start line names the model; without the demo, it says what to try next.
    expect(started.output()).toMatch(/Leash is up: [^\n]*; model scripted/);
    expect(started.output()).toContain('bin/leash task submit --agent it-helpdesk');
    expect(started.output()).toContain('bin/leash approvals list');
    expect(started.output()).toContain('bin/leash audit <task-id>');
  });
});
