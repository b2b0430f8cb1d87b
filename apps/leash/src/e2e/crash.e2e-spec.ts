import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '@leash/bus';
import {
  LeashClient,
  runApprovalConsumer,
  TASK_TOPICS,
  type ApprovalConsumer,
} from '@leash/client';
import { BASE_ENV, loadConfig } from '@leash/config';
import type { AnyEnvelope, TaskFinishedV1 } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { ActionRun, Email, Escalation, SoftwareInstall, Ticket } from '@leash/service-executor';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { waitFor } from '@leash/testing';
import { reviewerDirectory, testReviewerKey, TEST_REVIEWERS } from '../eval/leash-under-test';
import { launch, ROOT, startProcess, type Launched } from './support/processes';

/*
 * Crash: the whole launcher (all five services, one process) is killed with
 * SIGKILL while tasks are mid-way, and started again on the same files.
 * Every task completes as its scenario expects, and no action runs twice:
 * one backend record per effect, one run per action id. An operator's
 * `leash task watch`, started before the crash, follows its task across it.
 */

const TENANT = 'crash';

const SCENARIOS = [
  'it-helpdesk.five-lookups',
  'it-helpdesk.wifi-ticket',
  'it-helpdesk.outage-urgent-ticket',
  'it-helpdesk.install-slack',
  'support.order-status-draft',
  'support.asks-for-human',
].map((id) => REFERENCE_SCENARIOS.find((s) => s.id === id)!);

const taskIdOf = (id: string) => `crash-${id}`;

describe('a launcher killed with SIGKILL mid-task', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let engines: Engines;
  const children: Launched[] = [];
  const closers: (() => Promise<void>)[] = [];
  const events = new Map<string, AnyEnvelope>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-crash-'));
    env = {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LEASH_REVIEWERS: JSON.stringify(reviewerDirectory([TENANT])),
      LEASH_DEMO: 'false',
      LOG_LEVEL: 'error',
      NO_COLOR: '1',
    };
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await engines?.close();
    for (const child of children) await child.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function startLeash(): Promise<Launched> {
    const launcher = launch('apps/leash/src/start.ts', env);
    children.push(launcher);
    await launcher.waitForOutput('Leash is up', {
      timeoutMs: 60_000,
      description: 'the launcher to be up',
    });
    expect(launcher.output()).toContain('Leash is up');
    return launcher;
  }

  const finished = (taskId: string): TaskFinishedV1 | undefined => {
    for (const event of events.values()) {
      if (event.type === 'leash.tasks.finished.v1' && event.taskId === taskId) return event.data;
    }
    return undefined;
  };
  const completions = (taskId?: string) =>
    [...events.values()].flatMap((e) =>
      e.type === 'leash.actions.completed.v1' && (taskId === undefined || e.taskId === taskId)
        ? [{ id: e.id, ...e.data }]
        : [],
    );

  it('resumes every task after a restart, and runs no action twice', async () => {
    const first = await startLeash();

    // This test is another process on the same files, as an upstream system and a reviewer would be.
    engines = await openEngines(loadConfig(BASE_ENV, { env }), {
      source: 'e2e-crash',
      relayOutbox: false,
    });
    const observer: Subscription = await engines.bus.subscribe(
      'e2e-crash-observer',
      TASK_TOPICS,
      async ({ event }) => void events.set(event.id, event),
      { fromBeginning: true },
    );
    closers.push(() => observer.close());
    // One task through the CLI, as an operator would; the rest through the client SDK.
    const [five, ...others] = SCENARIOS;
    const submitted = startProcess(
      join(ROOT, 'bin', 'leash'),
      ['task', 'submit', '--scenario', five.id, '--tenant', TENANT, '--task-id', taskIdOf(five.id)],
      env,
      tmpdir(),
    );
    children.push(submitted);
    expect(await submitted.ended).toEqual({ code: 0, signal: null });
    expect(submitted.output()).toContain(`submitted task ${taskIdOf(five.id)}`);
    expect(submitted.output()).toContain(`bin/leash task watch ${taskIdOf(five.id)}`);
    const watch = startProcess(
      join(ROOT, 'bin', 'leash'),
      ['task', 'watch', taskIdOf(five.id)],
      env,
      tmpdir(),
    );
    children.push(watch);

    const client = new LeashClient({ bus: engines.bus, source: 'e2e-crash' });
    for (const scenario of others) {
      await client.submitTask({
        tenantId: TENANT,
        taskId: taskIdOf(scenario.id),
        agent: scenario.agent,
        input: scenario.input,
        metadata: { scenario: scenario.id },
      });
    }

    // Mid-task: a lookup has run, and the install waits for a reviewer (who answers only after the crash).
    const install = taskIdOf('it-helpdesk.install-slack');
    await waitFor(
      () =>
        completions(taskIdOf(five.id)).length >= 1 &&
        [...events.values()].some(
          (e) => e.type === 'leash.approvals.requested.v1' && e.taskId === install,
        ),
      { timeoutMs: 90_000, description: 'a lookup to complete and the install to wait' },
    );
    first.child.kill('SIGKILL');
    expect(await first.ended).toEqual({ code: null, signal: 'SIGKILL' });
    expect(finished(install)).toBeUndefined();

    await startLeash();
    const reviewer: ApprovalConsumer = await runApprovalConsumer(engines.bus, {
      reviewer: TEST_REVIEWERS[0],
      key: testReviewerKey(TEST_REVIEWERS[0]),
      decide: async () => ({ verdict: 'approve' }),
    });
    closers.push(() => reviewer.close());
    await waitFor(() => SCENARIOS.every((s) => finished(taskIdOf(s.id))), {
      timeoutMs: 90_000,
      description: 'every task to finish after the restart',
    });

    for (const scenario of SCENARIOS) {
      expect([scenario.id, finished(taskIdOf(scenario.id))?.status]).toEqual([
        scenario.id,
        scenario.expect.status,
      ]);
    }
    const store = engines.store;
    const count = async (taskId: string) => ({
      tickets: await store.repository(Ticket).count({ where: { taskId } }),
      emails: await store.repository(Email).count({ where: { taskId } }),
      escalations: await store.repository(Escalation).count({ where: { taskId } }),
    });
    expect(await count(taskIdOf('it-helpdesk.wifi-ticket'))).toEqual({
      tickets: 1,
      emails: 0,
      escalations: 0,
    });
    expect(await count(taskIdOf('it-helpdesk.outage-urgent-ticket'))).toMatchObject({ tickets: 1 });
    expect(await count(taskIdOf('support.order-status-draft'))).toMatchObject({ emails: 1 });
    expect(await count(taskIdOf('support.asks-for-human'))).toMatchObject({ escalations: 1 });
    const slack = await store.repository(SoftwareInstall).get('LT-BOB-01/slack');
    expect(slack?.doc.installedBy).toMatch(
      new RegExp(`^${taskIdOf('it-helpdesk.install-slack')}:`),
    );

    // The five lookups: five actions, each completed once (a replay after the crash says so).
    const lookups = completions(taskIdOf(five.id)).filter((c) => !c.replayed);
    expect(new Set(lookups.map((c) => c.actionId)).size).toBe(5);
    // No action id has two different first completions: the tool ran to one result once.
    const firsts = new Map<string, Set<string>>();
    for (const c of completions().filter((c) => !c.replayed)) {
      firsts.set(c.actionId, (firsts.get(c.actionId) ?? new Set()).add(c.id));
    }
    expect([...firsts].filter(([, ids]) => ids.size > 1)).toEqual([]);
    const runs = await store.repository(ActionRun).find({ where: { tenantId: TENANT } as never });
    expect(runs.length).toBe(firsts.size);
    expect(runs.filter((r) => r.doc.status !== 'completed')).toEqual([]);

    // The operator's watch followed the task across the crash and exits by its status.
    expect(await watch.ended).toEqual({ code: 0, signal: null });
    expect(watch.output()).toContain('SUCCEEDED');
    expect(watch.output()).toContain('search_kb succeeded');
  });
});
