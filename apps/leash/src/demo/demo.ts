import { randomUUID } from 'node:crypto';
import type { ReferenceScenario } from '@leash/agents';
import type { Bus, Subscription } from '@leash/bus';
import { LeashClient, TASK_TOPICS } from '@leash/client';
import type { AnyEnvelope, TaskStatus } from '@leash/contracts';
import type { Engines } from '@leash/engines';
import { createApprovalQueries } from '@leash/service-approvals';
import { PLANNER_TASKS, REFERENCE_SCENARIOS } from '@leash/service-planner';
import type { Store } from '@leash/store';
import { DEMO_TENANT, demoReviewersFor } from './demo-reviewers';
import { applyFixtures } from './scenario-fixtures';
import { describeEvent, dollars, paint, statusTone } from './task-progress';

/*
 * The demo `npm start` runs once the services are up: it submits the
 * scenarios tagged `demo` in tenant `demo`, prints every task's progress
 * live (its own and any submitted from another terminal), then a summary
 * with the commands that answer what waits for a person.
 *
 * Demo task ids are fixed (`demo-<scenario>`): the planner starts a task id
 * once, so a restart on the same files shows what the demo did instead of
 * running it again against backends it already changed.
 */

/** The scenarios the demo submits, in order. */
export const DEMO_SCENARIOS: readonly ReferenceScenario[] = REFERENCE_SCENARIOS.filter((s) =>
  s.tags.includes('demo'),
);

export function demoTaskId(scenario: Pick<ReferenceScenario, 'id'>): string {
  return `demo-${scenario.id}`;
}

/**
 * The bad feed spends its tenant's whole daily purchase-order cap by design:
 * in tenant `demo` it would starve the restock task of it, whichever ordered
 * first. It runs in a tenant of its own (it needs no reviewer).
 */
const OWN_TENANT: Readonly<Record<string, string>> = {
  'procurement.bad-feed-200-zero': 'demo-wh9',
};

export function demoTenant(scenario: Pick<ReferenceScenario, 'id'>): string {
  return OWN_TENANT[scenario.id] ?? DEMO_TENANT;
}

export interface DemoOptions {
  readonly out: (line: string) => void;
  readonly color?: boolean;
  /** Where the demo reviewers' private keys are, to say so (never what they are). */
  readonly reviewerKeysDir?: string;
}

/**
 * What the demo runs against: the bus, and the store of each service it
 * reads (the executor's backends for the scenarios' fixtures, the planner's
 * tasks, the approvals service's queue). In one process that is one store.
 */
export interface DemoSystem {
  readonly bus: Bus;
  store(owner: 'executor' | 'planner' | 'approvals'): Store;
}

/** The demo's view of engines every service shares (the all-in-one launcher). */
export function sharedEngines(engines: Engines): DemoSystem {
  return { bus: engines.bus, store: () => engines.store };
}

export interface Demo {
  /** Resolves when every demo task has finished or waits for a person. */
  readonly settled: Promise<void>;
  close(): Promise<void>;
}

interface DemoTask {
  readonly scenario: ReferenceScenario;
  status?: TaskStatus;
  reason?: string;
  costMicros?: number;
  /** Approval requests waiting, by action id. */
  readonly waiting: Map<string, { approvalId: string; group: string; required: number }>;
}

const LABEL_WIDTH = 38;

export async function runDemo(system: DemoSystem, options: DemoOptions): Promise<Demo> {
  const { out, color } = options;
  const tasks = new Map<string, DemoTask>(
    DEMO_SCENARIOS.map((scenario) => [demoTaskId(scenario), { scenario, waiting: new Map() }]),
  );
  // Every scenario's fixtures, so `leash task submit --scenario` finds its data too.
  await applyFixtures(
    system.store('executor'),
    REFERENCE_SCENARIOS.map((s) => s.fixtures),
  );

  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  let summarized = false;
  const checkSettled = () => {
    const done = [...tasks.values()].every((t) => t.status !== undefined || t.waiting.size > 0);
    if (!done || summarized) return;
    summarized = true;
    for (const line of summary(tasks, color, options.reviewerKeysDir)) out(line);
    settle();
  };

  const label = (taskId: string) => {
    const text = tasks.get(taskId)?.scenario.id ?? taskId;
    return text.length > LABEL_WIDTH
      ? `${text.slice(0, LABEL_WIDTH - 3)}...`
      : text.padEnd(LABEL_WIDTH);
  };
  const track = (event: AnyEnvelope) => {
    const task = event.taskId ? tasks.get(event.taskId) : undefined;
    if (!task) return;
    if (event.type === 'leash.approvals.requested.v1') {
      task.waiting.set(event.data.actionId, {
        approvalId: event.data.approvalId,
        group: event.data.reviewerGroup,
        required: event.data.reviewersRequired,
      });
    } else if (
      event.type === 'leash.actions.authorized.v1' ||
      event.type === 'leash.actions.rejected.v1'
    ) {
      task.waiting.delete(event.data.actionId);
    } else if (event.type === 'leash.tasks.finished.v1') {
      task.status = event.data.status;
      task.reason = event.data.reason;
      task.costMicros = event.data.cost.usdMicros;
      task.waiting.clear();
    }
  };

  // From the end of the log: what happens from now on, whoever submitted it.
  const subscription: Subscription = await system.bus.subscribe(
    `leash-demo.${randomUUID()}`,
    TASK_TOPICS,
    async ({ event }) => {
      if (!event.taskId) return;
      const time = event.time.slice(11, 19);
      for (const line of describeEvent(event, { reviewersFor: demoReviewersFor, color })) {
        out(`${paint(time, 'dim', color)} ${label(event.taskId)} ${line}`);
      }
      track(event);
      checkSettled();
    },
    { fromBeginning: false },
  );

  out('');
  out(
    `Demo: ${DEMO_SCENARIOS.length} tasks in tenant "${DEMO_TENANT}" (LEASH_DEMO=false skips it): ` +
      'each step, gate decision, approval, tool run and cost as it happens.',
  );
  out('');
  const client = new LeashClient({ bus: system.bus, source: 'leash-demo' });
  const planned = system.store('planner').repository(PLANNER_TASKS);
  for (const [taskId, task] of tasks) {
    const earlier = (await planned.get(taskId))?.doc;
    if (earlier && earlier.status !== 'running') {
      // Ran on an earlier start on these files: report it, do not run it again.
      task.status = earlier.status;
      task.reason = earlier.reason ?? earlier.status;
      task.costMicros = earlier.cost.usdMicros;
      continue;
    }
    if (earlier) continue; // Still running from an earlier start: the planner resumed it.
    await client.submitTask({
      tenantId: demoTenant(task.scenario),
      taskId,
      agent: task.scenario.agent,
      input: task.scenario.input,
      metadata: { scenario: task.scenario.id },
      requestedBy: 'demo',
    });
  }
  // Tasks that ran before and wait for a person: their requests are in the store, not new events.
  await restoreWaiting(system.store('approvals'), tasks);
  checkSettled();

  return { settled, close: () => subscription.close() };
}

async function restoreWaiting(approvals: Store, tasks: Map<string, DemoTask>): Promise<void> {
  const pending = await createApprovalQueries(approvals).listPendingApprovals.execute({
    tenantId: DEMO_TENANT,
  });
  for (const request of pending) {
    tasks.get(request.taskId)?.waiting.set(request.actionId, {
      approvalId: request.approvalId,
      group: request.reviewerGroup,
      required: request.reviewersRequired - request.approvedBy.length,
    });
  }
}

function summary(
  tasks: Map<string, DemoTask>,
  color: boolean | undefined,
  reviewerKeysDir: string | undefined,
): string[] {
  const lines = ['', paint('Demo summary', 'plain', color)];
  for (const [, task] of tasks) {
    const id = task.scenario.id.padEnd(LABEL_WIDTH);
    if (task.status) {
      lines.push(
        `  ${id} ${paint(task.status.padEnd(15), statusTone(task.status), color)} ${dollars(task.costMicros ?? 0).padStart(10)}  ${(task.reason ?? '').replace(/\s+/g, ' ').slice(0, 90)}`,
      );
      continue;
    }
    for (const wait of task.waiting.values()) {
      const reviewers = demoReviewersFor(DEMO_TENANT, wait.group).slice(
        0,
        Math.max(1, wait.required),
      );
      lines.push(
        `  ${id} ${paint('waiting'.padEnd(15), 'wait', color)} for ${wait.required} of ${wait.group}: ` +
          reviewers
            .map((r) => `bin/leash approvals approve ${wait.approvalId} --reviewer ${r}`)
            .join(' && '),
      );
    }
  }
  lines.push(
    '',
    'Leash keeps running. From another terminal, in this directory:',
    '  bin/leash approvals list                       what waits for a person, and how to answer it',
    ...(reviewerKeysDir
      ? [
          `  bin/leash reviewers list --tenant ${DEMO_TENANT}           the demo reviewers; approve signs with their keys in ${reviewerKeysDir}`,
        ]
      : []),
    '  bin/leash task submit --agent it-helpdesk --input "How do I connect to the VPN?" --watch',
    '  bin/leash task submit --scenario support.refund-over-threshold --tenant demo-2',
    '  bin/leash task watch <task id>                 follow one task live',
    '  bin/leash kill --all --reason "stop everything" ; bin/leash resume --all',
    'Ctrl-C stops Leash. rm -rf .leash to run the demo afresh.',
    '',
  );
  return lines;
}
