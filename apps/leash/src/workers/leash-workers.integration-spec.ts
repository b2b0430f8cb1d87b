import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '@leash/bus';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import { REFERENCE_SCENARIOS, scenarioTask } from '@leash/service-planner';
import { waitFor } from '@leash/testing';
import { applyFixtures } from '../demo/scenario-fixtures';
import { launch, type Launched } from '../e2e/support/processes';
import { launchLeash } from '../start';

const SCENARIO = REFERENCE_SCENARIOS.find((s) => s.id === 'it-helpdesk.five-lookups')!;

describe('npm start on worker threads (LEASH_WORKERS=2)', () => {
  let dir: string;
  let launcher: Launched | undefined;
  let engines: Engines | undefined;
  let subscription: Subscription | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-workers-'));
  });

  afterAll(async () => {
    await subscription?.close();
    await engines?.close();
    await launcher?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a task end to end across the threads, serves every thread’s metrics, and stops cleanly on SIGTERM', async () => {
    const files = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    const started = launch('apps/leash/src/start.ts', {
      ...process.env,
      ...files,
      LEASH_WORKERS: '2',
      LEASH_HTTP_PORT: '0',
      LEASH_INBOX_PORT: '0',
      LEASH_INSTANCE_ID: 'it-workers',
      LOG_LEVEL: 'warn',
      LEASH_DEMO: 'false',
      NO_COLOR: '1',
    });
    launcher = started;
    const output = await started.waitForOutput("Reviewers' inbox", {
      timeoutMs: 60_000,
      description: 'the launcher to report that it is up',
    });
    expect(output).toContain('Leash is up: planner, policy, budget, approvals, executor');
    expect(output).toContain('2 threads (planner budget executor | policy approvals audit)');
    expect(output).toMatch(/Reviewers' inbox: http:\/\/127\.0\.0\.1:\d+/);
    const endpoint = /metrics and health on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1];

    // The test's own engines on the same files: another process, as the CLI would be.
    engines = await openEngines(loadConfig(BASE_ENV, { env: files }), {
      source: 'workers-test',
      relayOutbox: false,
    });
    const finished = new Map<string, string>();
    subscription = await engines.bus.subscribe(
      'workers-test',
      ['tasks.finished'],
      async ({ event }) => {
        if (event.type === 'leash.tasks.finished.v1' && event.taskId) {
          finished.set(event.taskId, event.data.status);
        }
      },
    );
    await applyFixtures(engines.store, [SCENARIO.fixtures]);
    await engines.bus.publish(
      'tasks.requested',
      scenarioTask(SCENARIO, {
        tenantId: 'workers-tenant',
        taskId: 'workers-1',
        source: 'workers-test',
      }),
    );
    const status = await waitFor(() => finished.get('workers-1'), {
      timeoutMs: 30_000,
      description: 'the task to finish',
    });
    expect(status).toBe('succeeded');

    // One endpoint for every thread: the policy and the audit recorder run in the worker.
    const metrics = await (await fetch(`${endpoint}/metrics`)).text();
    for (const group of ['planner', 'policy', 'audit']) {
      expect(metrics).toMatch(
        new RegExp(`leash_messages_processed_total\\{[^}]*group="${group}"[^}]*\\} [1-9]`),
      );
    }
    const ready = await fetch(`${endpoint}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain('"policy.store":{"status":"up"}');

    started.child.kill('SIGTERM');
    const exit = await started.ended;
    expect(started.output()).toContain('stopped cleanly');
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('says which thread failed when one crashes, and still stops the rest cleanly', async () => {
    const crashDir = mkdtempSync(join(dir, 'crash-'));
    const leash = await launchLeash(
      {
        ...process.env,
        LEASH_BUS_FILE: join(crashDir, 'bus.db'),
        LEASH_STORE_FILE: join(crashDir, 'store.db'),
        LEASH_WORKERS: '2',
        LEASH_HTTP_PORT: '0',
        LOG_LEVEL: 'error',
      },
      { instrument: join(__dirname, 'test', 'crash-after-start.fixture.ts') },
    );
    try {
      const error = await leash.failed;
      expect(error.message).toContain('the worker thread running policy, approvals, audit');
      expect(error.message).toContain('a failure nothing caught');
    } finally {
      await leash.stop();
    }
  });
});
