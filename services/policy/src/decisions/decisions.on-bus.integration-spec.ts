import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenOnBus, type BusListener } from '@leash/bus/nest';
import { startSqliteCensus, storeBatches } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { decisionId, decisionRecords } from './decisions.aggregates';
import { DecisionsModule } from './decisions.module';
import {
  completed,
  openPolicyHarness,
  proposal,
  taskRequested,
  type PolicyHarness,
} from './test/policy-harness';

/*
 * The gate's consumers over a gate the spec built (the benchmark's way):
 * every topic it reads reaches its use case, so a proposal that overtook its task's input, or
 * the output of the step before, is decided once they arrive.
 */
describe('the policy consumers on the embedded bus', () => {
  let h: PolicyHarness;
  let subscription: BusListener;

  beforeEach(async () => {
    h = await openPolicyHarness();
    subscription = await listenOnBus({
      bus: h.engines.bus,
      group: 'policy',
      module: DecisionsModule.forGate(h.gate),
    });
  });

  afterEach(async () => {
    await subscription.close();
    await h.close();
  });

  const decisionOf = (actionId: string) =>
    waitFor(
      async () =>
        (await h.engines.store.repository(decisionRecords).get(decisionId('acme', actionId)))?.doc,
      {
        description: `the decision on ${actionId}`,
      },
    );

  it('decides the proposals that overtook the input and an earlier output, with that output', async () => {
    const read = proposal({ taskId: 'sub-1', step: 1, arguments: { customer: 'C-1043' } });
    await h.engines.bus.publish('actions.proposed', read);
    await h.engines.bus.publish(
      'tasks.requested',
      taskRequested({ taskId: 'sub-1', requestedBy: 'jane@example.com' }),
    );
    expect((await decisionOf(read.data.actionId)).outcome).toBe('allow');

    const refund = proposal({
      taskId: 'sub-1',
      step: 2,
      tool: 'issue_refund',
      arguments: { orderId: 'O-5003', amountUsd: 30, reason: 'goodwill' },
      tainted: [],
    });
    await h.engines.bus.publish('actions.proposed', refund);
    await h.engines.bus.publish(
      'actions.completed',
      completed(read, { orders: [{ orderId: 'O-5003', item: 'Standing desk' }] }),
    );
    const decided = await decisionOf(refund.data.actionId);
    expect(decided).toMatchObject({ outcome: 'approve' });
    expect(decided.determiningPolicies).toContain('unverified-order-needs-a-human');
  });
});

/*
 * Batches (ADR 14): the gate's events that are ready when it starts share
 * store transactions, a partition's batch at a time, and each is decided once.
 */
describe('the policy consumers taking batches on a SQLite store', () => {
  const TASKS = 40;
  let dir: string;
  let h: PolicyHarness;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-policy-batches-'));
    h = await openPolicyHarness({ env: { LEASH_STORE_FILE: join(dir, 'store.db') } });
  });

  afterEach(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Publishes TASKS tasks and a proposal each, then decides them all; the store's commits meanwhile. */
  async function decideBurst(maxEvents: number): Promise<{ commits: number; decided: number }> {
    const proposals: ReturnType<typeof proposal>[] = [];
    for (let i = 0; i < TASKS; i++) {
      const tenantId = `tenant-${i}`;
      const taskId = `burst-${i}`;
      const customer = `C-${1000 + i}`;
      await h.engines.bus.publish(
        'tasks.requested',
        taskRequested({ tenantId, taskId, input: `Customer ${customer} asks about an order.` }),
      );
      proposals.push(proposal({ tenantId, taskId, arguments: { customer } }));
    }
    for (const event of proposals) await h.engines.bus.publish('actions.proposed', event);
    const census = startSqliteCensus();
    // No time bound: the count then depends on the events, not on this machine's speed.
    const batches = storeBatches(h.engines.store, maxEvents, { maxMs: 60_000 });
    const listener = await listenOnBus({
      bus: h.engines.bus,
      group: 'policy',
      module: DecisionsModule.forGate(h.gate),
      ...(batches ? { subscribe: batches } : {}),
    });
    try {
      const decisions = h.engines.store.repository(decisionRecords);
      await waitFor(async () => (await decisions.count()) === TASKS, {
        description: `${TASKS} proposals decided`,
      });
      const storeFile = Object.keys(census.counts().byFile).find((f) => f.endsWith('store.db'));
      const commits = census.counts().byFile[storeFile ?? '']?.commits ?? 0;
      // Each proposal decided once: one record each, and no more after the burst settles.
      const decided = (await decisions.find()).filter((d) =>
        proposals.some((p) => p.data.actionId === d.doc.actionId),
      ).length;
      return { commits, decided };
    } finally {
      census.stop();
      await listener.close();
    }
  }

  it('decides a burst of ready events in a few commits, each proposal once', async () => {
    const { commits, decided } = await decideBurst(64);
    expect(decided).toBe(TASKS);
    // 80 events (an input and a proposal per task) on two partitions of two topics: 3-4 commits
    // measured, against 44-46 one event per transaction (the case below).
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThanOrEqual(12);
  });

  it('takes the same burst one event per transaction with batches of one', async () => {
    const { commits, decided } = await decideBurst(1);
    expect(decided).toBe(TASKS);
    expect(commits).toBeGreaterThan(12);
  });
});
