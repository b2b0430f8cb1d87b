/*
 * npm run bench:gates: the policy and budget gates.
 *
 * 1. Policy evaluation alone: Cedar over the support agent's policy set, the
 *    context built from a proposal, p50/p99 per decision.
 *    The context includes the taint facts from what the gate has seen of a
 *    task (its input and a lookup).
 * 2. Signing alone: what the gates' signatures cost per action (a
 *    decision, a grant and an approval signed, then the three verified as
 *    the executor does), p50/p99 per action.
 * 3. proposed -> funded through the embedded engines (SQLite bus and store,
 *    the outbox relay, the real use cases of both gates; each task's input
 *    recorded by the policy gate before, as the gate needs): sustained
 *    throughput with a burst of proposals, and p50/p99 latency at a fixed
 *    200 actions/s.
 *
 * Last line: `gates: policy p50 <x> us, signatures per action sign <s> us verify <v> us,
 * proposed->funded p50 <y> ms p99 <z> ms, <n> actions/s`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AgentCatalog, REFERENCE_AGENTS, REFERENCE_TOOLS } from '@leash/agents';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope } from '@leash/contracts';
import { openEngines, startSqliteCensus, storeBatches } from '@leash/engines';
import { listenOnBus } from '@leash/bus/nest';
import { DecisionsModule, PolicyEvaluator, createPolicyGate } from '@leash/service-policy';
import {
  GateSigner,
  GateVerifier,
  approvalFields,
  decisionFields,
  generateGateKey,
  grantFields,
} from '@leash/signing';
import { UntrustedValues } from '@leash/taint';

const KEYS = {
  policy: generateGateKey('policy-bench'),
  budget: generateGateKey('budget-bench'),
  approvals: generateGateKey('approvals-bench'),
};
const PUBLIC_KEYS = {
  policy: [KEYS.policy.publicKey],
  budget: [KEYS.budget.publicKey],
  approvals: [KEYS.approvals.publicKey],
};
const TENANTS = 200;
const BURST = Number(process.env.BENCH_GATES_BURST ?? 10_000);
const RATE = 200;
const RATE_SECONDS = Number(process.env.BENCH_GATES_SECONDS ?? 10);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function policyAlone(): number {
  const evaluator = new PolicyEvaluator();
  const support = REFERENCE_AGENTS.support;
  const compiled = evaluator.compile({
    policyId: support.policy.policyId,
    version: 1,
    cedar: support.policy.cedar,
    description: '',
    author: 'bench',
    createdAt: new Date().toISOString(),
  });
  const sendEmail = REFERENCE_TOOLS.tool('send_email')!;
  // What the gate has seen of a typical task: the customer's message and one lookup.
  const seen = {
    values: new UntrustedValues([
      'From jane@example.com: where is my headphones order? It has been a week.',
      JSON.stringify({
        customer: { customerId: 'C-1042', email: 'jane@example.com', name: 'Jane Doe' },
        orders: [{ orderId: 'O-5001', item: 'Headphones', paidUsd: 240, status: 'shipped' }],
      }),
    ]),
    overflowed: false,
    verified: new Set(['c-1042', 'jane@example.com', 'jane doe', 'o-5001', 'headphones']),
  };
  const request = (i: number) => ({
    agent: { name: 'support', version: 1, tenantId: `t-${i % TENANTS}` },
    tool: sendEmail,
    arguments: {
      to: [`customer${i}@example.com`],
      subject: 'Your order',
      body: `Hello, your order ${i} has shipped.`,
    },
    tainted: [] as string[],
    seen,
    step: 3,
    priorCalls: { total: 2, tool: 0, sameArguments: 0 },
  });
  for (let i = 0; i < 2_000; i++) evaluator.evaluate(compiled, request(i));
  const samples: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const r = request(i);
    const start = process.hrtime.bigint();
    evaluator.evaluate(compiled, r);
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  samples.sort((a, b) => a - b);
  const p50 = percentile(samples, 50);
  console.log(
    `policy evaluation alone: ${samples.length} decisions, p50 ${p50.toFixed(1)} us, p99 ${percentile(samples, 99).toFixed(1)} us`,
  );
  return p50;
}

/**
 * Sign a decision, a grant and an approval (each with its gate's Ed25519
 * key), then verify the three with public keys: one action's signatures. The
 * verifier's cache is off, so every check is a real Ed25519 verification;
 * then the same signatures again through a caching verifier (a redelivery).
 */
function signingAlone(): { signUs: number; verifyUs: number } {
  const signers = [
    new GateSigner('policy', KEYS.policy.signingKey),
    new GateSigner('budget', KEYS.budget.signingKey),
    new GateSigner('approvals', KEYS.approvals.signingKey),
  ];
  const verifier = new GateVerifier(PUBLIC_KEYS, { cacheSize: 0 });
  const caching = new GateVerifier(PUBLIC_KEYS, { cacheSize: 100_000 });
  const expiresAt = new Date(Date.now() + 3_600_000);
  const action = (i: number) => ({
    tenantId: `t-${i % TENANTS}`,
    taskId: `task-${i}`,
    actionId: `a-${i}`,
    tool: 'issue_refund',
    arguments: { order: `O-${i}`, amountUsd: 120 },
  });
  const fieldsOf = (i: number) => {
    const a = action(i);
    return [
      decisionFields(a, 'approve', 1, 1),
      grantFields(a, `r-${i}`, 120_000_000),
      approvalFields(a, `ap-${i}`, ['reviewer@example.com']),
    ];
  };
  const signSamples: number[] = [];
  const verifySamples: number[] = [];
  const cachedSamples: number[] = [];
  for (let i = 0; i < 22_000; i++) {
    const all = fieldsOf(i);
    let start = process.hrtime.bigint();
    const signed = all.map((fields, k) => signers[k]!.sign(fields, expiresAt));
    const signedNs = Number(process.hrtime.bigint() - start);
    start = process.hrtime.bigint();
    all.forEach((fields, k) => {
      if (!verifier.verify(fields, signed[k]!).ok)
        throw new Error('bench signature did not verify');
    });
    const verifiedNs = Number(process.hrtime.bigint() - start);
    all.forEach((fields, k) => caching.verify(fields, signed[k]!));
    start = process.hrtime.bigint();
    all.forEach((fields, k) => {
      if (!caching.verify(fields, signed[k]!).ok) throw new Error('bench signature did not verify');
    });
    const cachedNs = Number(process.hrtime.bigint() - start);
    if (i < 2_000) continue; // warm-up
    signSamples.push(signedNs / 1_000);
    verifySamples.push(verifiedNs / 1_000);
    cachedSamples.push(cachedNs / 1_000);
  }
  cachedSamples.sort((a, b) => a - b);
  signSamples.sort((a, b) => a - b);
  verifySamples.sort((a, b) => a - b);
  const signUs = percentile(signSamples, 50);
  const verifyUs = percentile(verifySamples, 50);
  console.log(
    `signing alone (${signSamples.length} actions, 3 signatures each): sign p50 ${signUs.toFixed(1)} us p99 ${percentile(signSamples, 99).toFixed(1)} us, verify p50 ${verifyUs.toFixed(1)} us p99 ${percentile(verifySamples, 99).toFixed(1)} us per action`,
  );
  console.log(
    `verify again, cached (a redelivery): p50 ${percentile(cachedSamples, 50).toFixed(1)} us per action`,
  );
  return { signUs, verifyUs };
}

async function throughGates(): Promise<{ p50: number; p99: number; perSecond: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'leash-bench-gates-'));
  const env = {
    LEASH_BUS_FILE: join(dir, 'bus.db'),
    LEASH_STORE_FILE: join(dir, 'store.db'),
    LEASH_BUDGET_SIGNING_KEY: `${KEYS.budget.signingKey.id}:${KEYS.budget.signingKey.privateKey}`,
    LEASH_POLICY_PUBLIC_KEYS: `${KEYS.policy.publicKey.id}:${KEYS.policy.publicKey.publicKey}`,
    LEASH_APPROVALS_PUBLIC_KEYS: `${KEYS.approvals.publicKey.id}:${KEYS.approvals.publicKey.publicKey}`,
  };
  const engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'bench' });
  const { bus, store } = engines;
  // Loaded, not imported: the CLI loads the budget service on demand, and Nx then forbids static imports of it.
  const { BUDGET_ENV, LedgerModule, createLedgerUseCases, ledgerDeps } =
    await import('@leash/service-budget');
  try {
    const gate = createPolicyGate({
      store,
      signingKey: KEYS.policy.signingKey,
    });
    await gate.seedReferenceAgents();
    const ledger = createLedgerUseCases(
      ledgerDeps({
        config: loadConfig(BUDGET_ENV, { env }),
        store,
        profiles: new AgentCatalog(store),
      }),
    );
    // Every topic the gate reads: it decides a task's proposals only once it has the task's input.
    // Batches as the services take them (LEASH_BATCH_EVENTS; 1 takes each event alone).
    const subscribe = storeBatches(store, loadConfig(BASE_ENV).LEASH_BATCH_EVENTS);
    const batches = subscribe ? { subscribe } : {};
    await listenOnBus({ bus, group: 'policy', module: DecisionsModule.forGate(gate), ...batches });
    await listenOnBus({
      bus,
      group: 'budget',
      module: LedgerModule.forUseCases(ledger, store),
      ...batches,
    });

    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let funded = 0;
    let rejected = 0;
    const rejections = new Map<string, number>();
    await bus.subscribe(
      'bench-watch',
      ['actions.funded', 'actions.rejected'],
      async (d) => {
        const actionId = (d.event.data as { actionId: string }).actionId;
        const start = sentAt.get(actionId);
        if (start === undefined) return;
        sentAt.delete(actionId);
        if (d.event.type === 'leash.actions.funded.v1') {
          funded += 1;
          latencies.push(performance.now() - start);
        } else {
          rejected += 1;
          const code = (d.event.data as { code: string }).code;
          rejections.set(code, (rejections.get(code) ?? 0) + 1);
        }
      },
      { fromBeginning: false },
    );

    let n = 0;
    const propose = async () => {
      n += 1;
      const actionId = randomUUID();
      const tenantId = `tenant-${n % TENANTS}`;
      const taskId = `task-${n}`;
      const envelope = createEnvelope(
        'leash.actions.proposed.v1',
        {
          actionId,
          agent: { name: 'support', version: 1 },
          tool: 'lookup_customer',
          arguments: { customer: `C-${n}` },
          step: 1,
          reason: 'look the customer up before answering',
          versions: {},
        },
        { source: 'bench', tenantId, taskId },
      );
      sentAt.set(actionId, performance.now());
      await bus.publish('actions.proposed', envelope);
    };
    const settle = async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (sentAt.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (sentAt.size > 0) throw new Error(`${sentAt.size} actions got no answer`);
    };

    /*
     * The gate decides a task's proposals once it has recorded the task's
     * input. In the system that happens long before the first proposal (a
     * budget round trip and a model call lie between), so each phase's task
     * inputs are recorded before it starts, and timed on their own.
     */
    let requested = 0;
    const inputTimes: number[] = [];
    const requestTasks = async (count: number) => {
      for (let i = 0; i < count; i++) {
        requested += 1;
        const event = createEnvelope(
          'leash.tasks.requested.v1',
          { agent: 'support', input: `From customer${requested}@example.com: where is my order?` },
          {
            source: 'bench',
            tenantId: `tenant-${requested % TENANTS}`,
            taskId: `task-${requested}`,
          },
        );
        const start = performance.now();
        await gate.recordTaskInput.execute({ event });
        inputTimes.push((performance.now() - start) * 1000);
      }
    };

    // Warm-up, then throughput: a burst, timed until the last is funded.
    await requestTasks(200);
    for (let i = 0; i < 200; i++) await propose();
    await settle(30_000);
    latencies.length = 0;
    funded = 0;
    await requestTasks(BURST);
    inputTimes.sort((a, b) => a - b);
    console.log(
      `task input recorded by the policy gate: ${inputTimes.length} tasks, p50 ${percentile(inputTimes, 50).toFixed(0)} us, p99 ${percentile(inputTimes, 99).toFixed(0)} us`,
    );
    const burstStart = performance.now();
    const burstCpu = process.cpuUsage();
    const census = startSqliteCensus();
    for (let i = 0; i < BURST; i++) void propose();
    await settle(300_000);
    const perSecond = (funded / (performance.now() - burstStart)) * 1000;
    // CPU of this process per action: unlike actions/s, barely moved by other jobs on the machine.
    const cpu = process.cpuUsage(burstCpu);
    const counted = census.counts();
    census.stop();
    const cpuPerAction = (cpu.user + cpu.system) / 1000 / Math.max(funded, 1);
    const perAction = (n: number) => (n / Math.max(funded, 1)).toFixed(2);
    console.log(
      `census of the burst: ${perAction(counted.statements)} SQL statements and ${perAction(counted.commits)} commits per action (` +
        Object.entries(counted.byFile)
          .map(
            ([file, c]) =>
              `${file.replace(/^.*\//, '')} ${perAction(c.statements)}/${perAction(c.commits)}`,
          )
          .join(', ') +
        ')',
    );
    console.log(
      `proposed->funded throughput: ${funded} funded of ${BURST} in a burst, ${perSecond.toFixed(0)} actions/s, ${cpuPerAction.toFixed(2)} ms CPU per action` +
        (rejected > 0
          ? `; rejected ${rejected} ${JSON.stringify(Object.fromEntries(rejections))}`
          : ''),
    );

    // Latency at a fixed rate.
    latencies.length = 0;
    await requestTasks(RATE * RATE_SECONDS);
    const interval = 1000 / RATE;
    const total = RATE * RATE_SECONDS;
    const rateStart = performance.now();
    for (let i = 0; i < total; i++) {
      const due = rateStart + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      void propose();
    }
    await settle(60_000);
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `proposed->funded at ${RATE} actions/s for ${RATE_SECONDS} s: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
    );
    return { p50, p99, perSecond };
  } finally {
    await engines.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The machine is shared: figures mean little without the load they were taken under. */
function load(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  console.log(`load average at start: ${load()}`);
  const policyP50 = policyAlone();
  const signing = signingAlone();
  const gates = await throughGates();
  console.log(`load average at end: ${load()}`);
  console.log(
    `gates: policy p50 ${policyP50.toFixed(0)} us, signatures per action sign ${signing.signUs.toFixed(1)} us verify ${signing.verifyUs.toFixed(1)} us, proposed->funded p50 ${gates.p50.toFixed(2)} ms p99 ${gates.p99.toFixed(2)} ms, ${gates.perSecond.toFixed(0)} actions/s`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
