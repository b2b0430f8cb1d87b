import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { act, call, final, sequence, type ReferenceScenario } from '@leash/agents';
import type { Subscription } from '@leash/bus';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope, type AnyEnvelope } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { createAgentLoop, subscribeAgentLoop, type AgentLoop } from './agent-loop.factory';
import { ScriptedModel } from './model/scripted.model';
import { ScenarioRegistry, scenarioTask } from './scenarios/reference-scenarios';
import { PLANNER_TASKS } from './task-state/planner-task.aggregate';
import { MapProfiles, PRICES } from './test/loop-harness';

/*
 * The planner on the embedded bus and SQLite store, against fake gates: a
 * tiny budget that grants every model reservation and a tiny executor that
 * completes every proposal once. A scripted task runs to its end, across
 * restarts of the planner's engines.
 */

const ticketAfterSearch: ReferenceScenario = {
  id: 'itest.ticket-after-search',
  agent: 'it-helpdesk',
  title: 'search, then a ticket',
  input: 'From bob@acme.example: the VPN keeps dropping.',
  tags: [],
  expect: { status: 'succeeded', requiredTools: ['search_kb', 'open_ticket'], forbiddenTools: [] },
  script: sequence([
    () => act('search first', call('search_kb', { query: 'vpn', limit: 2 })),
    () =>
      act(
        'the article did not help',
        call('open_ticket', {
          requester: 'bob@acme.example',
          subject: 'VPN keeps dropping',
          description: 'The VPN drops every few minutes.',
          priority: 'normal',
        }),
      ),
    (c) => final(`opened ${(c.lastTurn[0]?.output as { ticketId?: string })?.ticketId}`),
  ]),
};

interface Session {
  readonly engines: Engines;
  readonly loop: AgentLoop;
  close(): Promise<void>;
}

describe('the planner on the embedded engines', () => {
  let dir: string;
  const seen = new Map<string, AnyEnvelope>();
  const completed = new Map<string, number>();
  let session: Session | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-planner-'));
    seen.clear();
    completed.clear();
  });

  afterEach(async () => {
    await session?.close();
    session = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the engines on the same files, the planner on them, and the fake gates asked for. */
  async function open(gates: { budget: boolean; executor: boolean }): Promise<Session> {
    const config = loadConfig(BASE_ENV, {
      env: {
        LEASH_BUS_FILE: join(dir, 'bus.db'),
        LEASH_STORE_FILE: join(dir, 'store.db'),
        LEASH_PARTITIONS: '2',
      },
    });
    const engines = await openEngines(config, { source: 'planner' });
    const { bus } = engines;
    const loop = createAgentLoop({
      store: engines.store,
      model: new ScriptedModel(new ScenarioRegistry([ticketAfterSearch])),
      modelName: () => 'scripted',
      profiles: new MapProfiles(),
      prices: PRICES,
      log: { warn: () => undefined, error: () => undefined },
    });
    await loop.resumeOpenTasks.execute();
    const subscriptions: Subscription[] = [
      await subscribeAgentLoop(bus, loop, {
        fromBeginning: true,
        retry: { initialDelayMs: 5, maxDelayMs: 20 },
      }),
      await bus.subscribe(
        'observer',
        ['tasks.finished', 'actions.proposed', 'budget.requests', 'usage.recorded'],
        async ({ event }) => void seen.set(event.id, event),
        { fromBeginning: true },
      ),
    ];
    if (gates.budget) {
      subscriptions.push(
        await bus.subscribe(
          'fake-budget',
          ['budget.requests'],
          async ({ event }) => {
            if (event.type !== 'leash.budget.requested.v1' || event.data.kind !== 'model') return;
            const { requestId, taskId } = event.data;
            const answer = createEnvelope(
              'leash.budget.decided.v1',
              {
                requestId,
                taskId,
                kind: 'model',
                granted: true,
                reservationId: requestId,
                reason: 'fits',
              },
              { source: 'budget', id: `answer:${requestId}`, taskId, tenantId: event.tenantId! },
            );
            await bus.publish('budget.decisions', answer);
          },
          { fromBeginning: true },
        ),
      );
    }
    if (gates.executor) {
      subscriptions.push(
        await bus.subscribe(
          'fake-executor',
          ['actions.proposed'],
          async ({ event }) => {
            if (event.type !== 'leash.actions.proposed.v1') return;
            const { actionId, tool, agent } = event.data;
            completed.set(actionId, (completed.get(actionId) ?? 0) + 1);
            const output = tool === 'open_ticket' ? { ticketId: 'T-42' } : { articles: [] };
            const done = createEnvelope(
              'leash.actions.completed.v1',
              {
                actionId,
                agent,
                tool,
                status: 'succeeded',
                output: JSON.stringify(output),
                attempts: 1,
                durationMs: 1,
                completedAt: new Date().toISOString(),
              },
              {
                source: 'executor',
                id: `completed:${actionId}`,
                taskId: event.taskId!,
                tenantId: event.tenantId!,
              },
            );
            await bus.publish('actions.completed', done);
          },
          { fromBeginning: true },
        ),
      );
    }
    return {
      engines,
      loop,
      async close() {
        for (const subscription of subscriptions) await subscription.close();
        await engines.close();
      },
    };
  }

  const finishedOf = (taskId: string) =>
    [...seen.values()].filter((e) => e.type === 'leash.tasks.finished.v1' && e.taskId === taskId);

  it('runs a scripted task through the bus and the store to its end', async () => {
    session = await open({ budget: true, executor: true });
    const task = scenarioTask(ticketAfterSearch, { tenantId: 'acme', taskId: 'bus-task-1' });
    await session.engines.bus.publish('tasks.requested', task);
    const finished = await waitFor(() => finishedOf('bus-task-1')[0], {
      description: 'tasks.finished',
    });
    expect(finished.type === 'leash.tasks.finished.v1' && finished.data).toMatchObject({
      status: 'succeeded',
      result: 'opened T-42',
      cost: { toolCalls: 2 },
      versions: { prompt: 'it-helpdesk@1+rules@1', model: 'scripted' },
    });
    const usage = [...seen.values()].filter((e) => e.type === 'leash.usage.recorded.v1');
    expect(usage).toHaveLength(3);
  });

  it('resumes a task after restarts between steps and mid-turn, and completes it once', async () => {
    // 1. No gates: the planner asks for its first model call and nothing answers.
    session = await open({ budget: false, executor: false });
    await session.engines.bus.publish(
      'tasks.requested',
      scenarioTask(ticketAfterSearch, { tenantId: 'acme', taskId: 'restart-task' }),
    );
    await waitFor(() => [...seen.values()].some((e) => e.type === 'leash.budget.requested.v1'), {
      description: 'the first budget request',
    });
    await session.close();

    // 2. Restarted with a budget only: the request is re-issued, granted once, the model proposes.
    session = await open({ budget: true, executor: false });
    await waitFor(() => [...seen.values()].some((e) => e.type === 'leash.actions.proposed.v1'), {
      description: 'the first proposal',
    });
    const requests = [...seen.values()].filter((e) => e.type === 'leash.budget.requested.v1');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(
      new Set(requests.map((e) => e.type === 'leash.budget.requested.v1' && e.data.requestId)).size,
    ).toBe(1);
    await session.close();

    // 3. Restarted with every gate: the waiting proposal completes, the task runs to its end.
    session = await open({ budget: true, executor: true });
    await waitFor(() => finishedOf('restart-task').length > 0, {
      description: 'tasks.finished',
      timeoutMs: 20_000,
    });
    const stored = await session.engines.store.repository(PLANNER_TASKS).get('restart-task');
    expect(stored!.doc).toMatchObject({ status: 'succeeded', result: 'opened T-42', step: 3 });
    // Each action was proposed once and run once; each step's model call was recorded once.
    expect([...completed.values()]).toEqual([1, 1]);
    const usageIds = [...seen.values()]
      .filter((e) => e.type === 'leash.usage.recorded.v1')
      .map((e) => e.id);
    expect(usageIds.sort()).toEqual([1, 2, 3].map((step) => `usage:model:restart-task:${step}`));
    expect(finishedOf('restart-task')).toHaveLength(1);
  });
});
