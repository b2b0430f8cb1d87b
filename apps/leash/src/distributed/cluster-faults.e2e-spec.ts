import { randomUUID } from 'node:crypto';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openStore } from '@leash/engines';
import { ControlCommander, KILLS } from '@leash/kill-switch';
import { Escalation, PurchaseOrder } from '@leash/service-executor';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { describeOnKafka, waitFor } from '@leash/testing';
import { ClusterUnderTest } from './cluster-under-test';

const DAILY_CAP_USD = 50_000;
const BAD_FEED = REFERENCE_SCENARIOS.find((s) => s.id === 'procurement.bad-feed-200-zero')!;
const ASKS_FOR_HUMAN = REFERENCE_SCENARIOS.find((s) => s.id === 'support.asks-for-human')!;

/*
 * The services as separate processes on Kafka, under the faults a deployment
 * meets: a gate instance dying mid-burst, and a service that was down when a
 * kill was issued. Nothing may run twice, no cap may be exceeded, and a kill
 * must hold for a process that never saw it issued.
 */
describeOnKafka('the services as processes, under faults', (brokers) => {
  let system: ClusterUnderTest;
  let commander: ControlCommander;

  beforeAll(async () => {
    system = await ClusterUnderTest.start({
      brokers,
      tenants: ['burst', 'in-flight'],
      topicPrefix: `faults-${randomUUID().slice(0, 8)}.`,
      partitions: 4,
    });
    commander = await ControlCommander.open(system.bus, { source: 'faults-spec' });
  }, 180_000);

  afterAll(async () => {
    await commander?.close();
    await system?.stop();
  });

  it('two policy and two budget instances share the work; one of each SIGKILLed mid-burst; the daily cap holds and no order is placed twice', async () => {
    const { cluster } = system;
    await Promise.all([cluster.startProcess('policy', 2), cluster.startProcess('budget', 2)]);
    // 200 items at zero stock: the planner orders each ($5,000) until the tenant's $50,000 cap refuses.
    const taskId = await system.submit(BAD_FEED, { tenantId: 'burst' });
    const orders = system.backends.repository(PurchaseOrder);
    await waitFor(async () => (await orders.count({ where: { taskId } })) >= 1, {
      timeoutMs: 60_000,
      description: 'the first order placed',
    });
    await Promise.all([cluster.kill('policy-1', 'SIGKILL'), cluster.kill('budget-1', 'SIGKILL')]);

    // The survivors take the dead members' partitions once the group notices (its session timeout).
    const [record] = await system.finished([taskId], 180_000);
    expect(record!.finished?.status).toBe('limit_exceeded');
    const placed = (await orders.find({ where: { taskId } })).map(({ doc }) => doc);
    const total = placed.reduce((sum, order) => sum + order.amountUsd, 0);
    expect(total).toBeLessThanOrEqual(DAILY_CAP_USD);
    expect(placed.length).toBeGreaterThan(0);
    // Each action ran at most once: one order per idempotency key, and per item.
    expect(new Set(placed.map((o) => o.actionId)).size).toBe(placed.length);
    expect(new Set(placed.map((o) => o.sku)).size).toBe(placed.length);
  }, 300_000);

  it('a kill reaches every service process; an executor started after it, on a store that never saw it, honours it', async () => {
    const { cluster } = system;
    const everyone = await commander.kill({
      scope: { kind: 'all' },
      reason: 'drill',
      issuedBy: 'spec',
    });
    expect(everyone.missing).toEqual([]);
    await commander.resume({ scope: { kind: 'all' }, reason: 'drill over', issuedBy: 'spec' });

    // Every executor down: nobody records the next kill in the executor's store.
    await cluster.kill('executor-1');
    const whileDown = await commander.kill(
      {
        scope: { kind: 'tenant', tenantId: 'late' },
        reason: 'while the executor was down',
        issuedBy: 'spec',
      },
      { timeoutMs: 3_000 },
    );
    expect(whileDown.missing).toEqual(['executor']);
    const executorStore = await openStore(
      loadConfig(BASE_ENV, { env: cluster.clientEnv() }),
      'executor',
    );
    try {
      const recorded = () => executorStore.repository(KILLS).get(whileDown.commandId);
      expect(await recorded()).toBeUndefined();

      // A new instance (a new id: as a rescheduled pod gets) is ready only once it applied the kill.
      await cluster.startProcess('executor', 2);
      expect((await recorded())?.doc).toMatchObject({
        status: 'active',
        recordedBy: 'executor/executor-2',
      });
    } finally {
      await executorStore.close();
    }
  }, 180_000);

  it('a kill aborts a tool call in flight in the executor process: nothing is written, the task ends killed', async () => {
    const { cluster } = system;
    // An executor whose backend writes each take a minute, as a slow real system's would.
    await Promise.all(
      cluster
        .running()
        .filter((p) => p.name === 'executor')
        .map((p) => cluster.kill(p.id)),
    );
    const slow = await cluster.startProcess('executor', 3, {
      LEASH_SIMULATED_WRITE_LATENCY_MS: '60000',
    });
    const taskId = await system.submit(ASKS_FOR_HUMAN, { tenantId: 'in-flight' });
    const inFlight = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${slow.port}/metrics`)).text();
      return /^leash_tool_calls_in_flight\{tool="escalate_to_human"\} 1$/m.test(metrics);
    };
    await waitFor(inFlight, { timeoutMs: 60_000, description: 'escalate_to_human in flight' });

    const result = await commander.kill({
      scope: { kind: 'tenant', tenantId: 'in-flight' },
      reason: 'stop the call in flight',
      issuedBy: 'spec',
    });
    expect(result.missing).toEqual([]);
    const executorAck = result.acks.find(({ ack }) => ack.service === 'executor')!.ack;
    expect(executorAck.aborted).toBe(1);
    const [record] = await system.finished([taskId], 60_000);
    expect(record!.finished?.status).toBe('killed');
    expect(await inFlight()).toBe(false);
    expect(await system.backends.repository(Escalation).count({ where: { taskId } })).toBe(0);
    await commander.resume({
      scope: { kind: 'tenant', tenantId: 'in-flight' },
      reason: 'drill over',
      issuedBy: 'spec',
    });
  }, 180_000);
});
