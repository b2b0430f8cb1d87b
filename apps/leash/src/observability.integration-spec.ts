import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferenceScenario } from '@leash/agents';
import { searchRuns, taskTrajectory } from '@leash/audit';
import type { Subscription } from '@leash/bus';
import { runApprovalConsumer, type ApprovalConsumer } from '@leash/client';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { REFERENCE_SCENARIOS, scenarioTask } from '@leash/service-planner';
import { startOtlpJsonReceiver, type OtlpJsonReceiver, type ReceivedSpan } from '@leash/telemetry';
import { waitFor } from '@leash/testing';
import { applyFixtures } from './demo/scenario-fixtures';
import { launch, type Launched } from './e2e/support/processes';
import { TEST_REVIEWERS, reviewerDirectory, testReviewerKey } from './eval/leash-under-test';

/*
 * The all-in-one launcher as a child process on temp files, exporting its
 * spans over OTLP/HTTP (JSON) to a receiver in this test. (In a child: the
 * exporter loads node:http through a dynamic import, which jest's module
 * sandbox refuses.) The test acts as the upstream system and the reviewers
 * on the same bus file, then checks one trace per task across every hop,
 * the messaging and GenAI attributes, the approval wait as linked spans, the
 * audit log, and the metrics and health endpoint of the same run.
 */

function scenario(id: string): ReferenceScenario {
  const found = REFERENCE_SCENARIOS.find((s) => s.id === id);
  if (!found) throw new Error(`no scenario ${id}`);
  return found;
}

/** A port free right now, for the launcher's HTTP endpoint. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

const PRODUCER = 4;
const CONSUMER = 5;
const TENANT = 'obs-tenant';

describe('observability of a run through the five services', () => {
  let receiver: OtlpJsonReceiver;
  let dir: string;
  let launcher: Launched | undefined;
  let url: string;
  let engines: Engines;
  let store: Engines['store'];
  const reviewers: ApprovalConsumer[] = [];
  let finishedWatch: Subscription | undefined;
  const finished = new Set<string>();
  let counter = 0;
  let allowTask: string;
  let approvalTask: string;

  async function submit(id: string): Promise<string> {
    const chosen = scenario(id);
    await applyFixtures(store, [chosen.fixtures]);
    const taskId = `${id}-${++counter}`;
    await engines.bus.publish(
      'tasks.requested',
      scenarioTask(chosen, { tenantId: TENANT, taskId, source: 'observability-test' }),
    );
    return taskId;
  }

  async function untilFinished(...taskIds: string[]): Promise<void> {
    await waitFor(() => taskIds.every((taskId) => finished.has(taskId)), {
      timeoutMs: 60_000,
      description: `tasks to finish: ${taskIds.join(', ')}`,
    });
  }

  beforeAll(async () => {
    receiver = await startOtlpJsonReceiver();
    const httpPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'leash-observability-'));
    const files = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    launcher = launch('apps/leash/src/start.ts', {
      ...process.env,
      ...files,
      LEASH_INSTANCE_ID: 'observability-test',
      LEASH_DEMO: 'false',
      LOG_LEVEL: 'info',
      LEASH_HTTP_PORT: String(httpPort),
      LEASH_REVIEWERS: JSON.stringify(reviewerDirectory([TENANT])),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const output = await launcher.waitForOutput('Leash is up', {
      timeoutMs: 30_000,
      description: 'the launcher to report that it is up',
    });
    expect(output).toContain('Leash is up');
    url = `http://127.0.0.1:${httpPort}`;
    engines = await openEngines(loadConfig(BASE_ENV, { env: files }), {
      source: 'observability-test',
      relayOutbox: false,
    });
    store = engines.store;
    finishedWatch = await engines.bus.subscribe(
      'observability-test',
      ['tasks.finished'],
      async ({ event }) => {
        if (event.taskId) finished.add(event.taskId);
      },
      { fromBeginning: true },
    );
    for (const reviewer of TEST_REVIEWERS) {
      reviewers.push(
        await runApprovalConsumer(engines.bus, {
          reviewer,
          key: testReviewerKey(reviewer),
          source: 'observability-test',
          decide: async () => ({ verdict: 'approve', comment: 'approved by the test' }),
        }),
      );
    }
    allowTask = await submit('it-helpdesk.wifi-ticket');
    approvalTask = await submit('support.refund-over-threshold');
    await untilFinished(allowTask, approvalTask);
  }, 90_000);

  afterAll(async () => {
    for (const reviewer of reviewers) await reviewer.close();
    await finishedWatch?.close();
    await engines?.close();
    await launcher?.stop('SIGTERM');
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The audit's batch spans: one per batch it recorded, each linking the events of the batch. */
  function auditBatches(): ReceivedSpan[] {
    return receiver.spans.filter(
      (span) =>
        span.name.startsWith('process') &&
        span.attributes['messaging.consumer.group.name'] === 'audit',
    );
  }

  /** The task's spans once its trace is complete (the audit recorded its tasks.finished). */
  async function spansOf(taskId: string): Promise<ReceivedSpan[]> {
    return waitFor(
      async () => {
        const mine = receiver.spans.filter((span) => span.attributes['leash.task.id'] === taskId);
        const finished = mine.find((span) => span.name === 'publish leash.tasks.finished');
        const done =
          finished !== undefined &&
          auditBatches().some((batch) =>
            batch.links.some((link) => link.spanId === finished.spanId),
          );
        return done ? mine : undefined;
      },
      { timeoutMs: 20_000, description: `the spans of ${taskId}` },
    );
  }

  it('records one trace per task, with every hop a publish span and a process span child of it', async () => {
    const spans = await spansOf(allowTask);
    expect(receiver.rejected).toEqual([]);
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
    const traceId = spans[0].traceId;
    const trace = receiver.spans.filter((span) => span.traceId === traceId);
    const byId = new Map(trace.map((span) => [span.spanId, span]));

    // This test publishes the task untraced: every hop hangs off the root derived from the task
    // id (never exported), and every other parent is a span of the same trace.
    const outside = [
      ...new Set(trace.map((span) => span.parentSpanId).filter((id) => !byId.has(id))),
    ];
    expect(outside).toHaveLength(1);
    expect(outside[0]).toMatch(/^[0-9a-f]{16}$/);
    const root = outside[0];

    for (const topic of [
      'tasks.requested',
      'actions.proposed',
      'actions.decided',
      'actions.funded',
      'actions.completed',
      'budget.requests',
      'budget.decisions',
      'usage.recorded',
      'tasks.finished',
    ]) {
      const published = trace.filter((span) => span.name === `publish leash.${topic}`);
      const upstream = topic === 'tasks.requested';
      expect({ topic, published: published.length > 0 }).toEqual({ topic, published: !upstream });
      for (const publish of published) {
        expect(publish.kind).toBe(PRODUCER);
        expect(publish.attributes).toMatchObject({
          'messaging.system': 'sqlite',
          'messaging.destination.name': `leash.${topic}`,
          'messaging.operation.type': 'send',
          'leash.tenant.id': TENANT,
        });
        expect(publish.attributes['messaging.message.id']).toEqual(expect.any(String));
        // Every publish is caused by a span of the same trace: the hop that emitted it.
        expect(byId.has(publish.parentSpanId)).toBe(true);
      }
      const processed = trace.filter((span) => span.name === `process leash.${topic}`);
      expect({ topic, processed: processed.length > 0 }).toEqual({ topic, processed: true });
      for (const process of processed) {
        expect(process.kind).toBe(CONSUMER);
        if (upstream) {
          expect(process.parentSpanId).toBe(root);
          continue;
        }
        const parent = byId.get(process.parentSpanId);
        expect(parent?.name).toBe(`publish leash.${topic}`);
        expect(parent?.attributes['messaging.message.id']).toBe(
          process.attributes['messaging.message.id'],
        );
        expect(process.attributes).toMatchObject({
          'messaging.system': 'sqlite',
          'messaging.destination.name': `leash.${topic}`,
          'messaging.operation.type': 'process',
          'messaging.destination.partition.id': expect.any(String),
          'messaging.kafka.offset': expect.any(Number),
          'messaging.consumer.group.name': expect.any(String),
        });
      }
    }
    // The audit records in batches: one process span per batch, in a trace of its own, linking
    // each event it recorded. Every event of the task is linked: each publish span, and the
    // untraced upstream task event through the task's root.
    const batches = auditBatches();
    for (const batch of batches) {
      expect(batch.kind).toBe(CONSUMER);
      expect(batch.attributes).toMatchObject({
        'messaging.system': 'sqlite',
        'messaging.operation.type': 'process',
        'leash.service': 'audit',
      });
      // An event with no trace context and no task (an untraced control command) has no link.
      expect(batch.attributes['messaging.batch.message_count']).toBeGreaterThanOrEqual(
        batch.links.length,
      );
    }
    const linked = batches.filter((batch) => batch.links.some((l) => l.traceId === traceId));
    expect(linked.length).toBeGreaterThan(0);
    expect(linked.every((batch) => batch.traceId !== traceId)).toBe(true);
    const audited = new Set(linked.flatMap((batch) => batch.links.map((link) => link.spanId)));
    for (const publish of trace.filter((span) => span.kind === PRODUCER)) {
      expect({ publish: publish.name, audited: audited.has(publish.spanId) }).toEqual({
        publish: publish.name,
        audited: true,
      });
    }
    expect(audited.has(root)).toBe(true);

    // In one process too, each span's resource names the service that made it.
    expect(trace.every((span) => span.resource['service.version'])).toBe(true);
    for (const span of trace.filter((span) => span.attributes['leash.service'] !== undefined)) {
      expect({ span: span.name, service: span.resource['service.name'] }).toEqual({
        span: span.name,
        service: span.attributes['leash.service'],
      });
      expect(span.resource['service.namespace']).toBe('leash');
    }
    const services = new Set(trace.map((span) => span.resource['service.name']));
    for (const service of ['planner', 'policy', 'budget', 'executor']) {
      expect(services).toContain(service);
    }
  });

  it('carries the GenAI conventions on the agent, model and tool spans, and the task attributes', async () => {
    const spans = await spansOf(allowTask);
    const chat = spans.filter((span) => span.name.startsWith('chat '));
    expect(chat.length).toBeGreaterThan(0);
    expect(chat[0].attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'leash.scripted',
      'gen_ai.request.model': expect.any(String),
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
      'leash.task.id': allowTask,
      'leash.tenant.id': TENANT,
    });
    const tool = spans.find((span) => span.name.startsWith('execute_tool '));
    expect(tool?.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': expect.any(String),
      'gen_ai.tool.call.id': expect.any(String),
    });
    // The tool runs inside the executor's gate span.
    expect(spans.find((span) => span.spanId === tool?.parentSpanId)?.name).toBe(
      'leash.executor.run',
    );
    const agent = spans.filter((span) => span.name.startsWith('invoke_agent'));
    expect(agent.length).toBeGreaterThan(0);
    expect(agent[0].attributes['gen_ai.operation.name']).toBe('invoke_agent');

    const decide = spans.find((span) => span.name === 'leash.policy.decide');
    expect(decide?.attributes).toMatchObject({
      'leash.gate': 'policy',
      'leash.decision': 'allow',
      'leash.route': 'allow',
      'leash.policy.version': expect.any(Number),
      'leash.signer.key_id': expect.any(String),
      'leash.agent.name': 'it-helpdesk',
      'leash.version.prompt': expect.any(String),
      'leash.version.model': expect.any(String),
      'leash.version.tools': expect.any(String),
    });
    // Budget funds an action when it decides the reservation it re-keyed by tenant.
    const funded = spans.find(
      (span) =>
        span.name === 'leash.budget.reserve' && span.attributes['leash.decision'] === 'funded',
    );
    expect(funded?.attributes).toMatchObject({
      'leash.reservation.id': expect.any(String),
      'leash.reservation.usd_micros': expect.any(Number),
      'leash.route': 'allow',
    });
    expect(spans.some((span) => span.name === 'leash.budget.fund')).toBe(true);
  });

  it('records an approval wait as a request span and a verdict span linked to it, in the task trace', async () => {
    const spans = await spansOf(approvalTask);
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
    // Allowed actions pass the approvals gate too ('noted'); the one routed to people is 'requested'.
    const request = spans.find(
      (span) =>
        span.name === 'leash.approvals.request' &&
        span.attributes['leash.decision'] === 'requested',
    );
    const verdict = spans.find((span) => span.name === 'leash.approvals.verdict');
    expect(request?.attributes['leash.approval.id']).toEqual(expect.any(String));
    expect(verdict).toBeDefined();
    // The verdict continues the task's trace from the request, and links the reviewer's delivery.
    expect(verdict?.parentSpanId).toBe(request?.spanId);
    expect(verdict?.attributes['leash.approval.wait_ms']).toEqual(expect.any(Number));
    const delivery = receiver.spans.find((span) => span.spanId === verdict?.links[0]?.spanId);
    expect(delivery?.name).toBe('process leash.approvals.decided');
    expect(delivery?.links).toEqual([
      expect.objectContaining({
        spanId: request?.spanId,
        attributes: { 'leash.link.kind': 'approval.request' },
      }),
    ]);
    // What the approval authorized ran in the same trace.
    expect(spans.some((span) => span.name === 'process leash.actions.authorized')).toBe(true);
  });

  it('audits every event of a task and finds the run by its summary', async () => {
    await spansOf(allowTask);
    const trajectory = await taskTrajectory(store, allowTask);
    const types = new Set(trajectory.entries.map((entry) => entry.type));
    for (const type of [
      'leash.tasks.requested.v1',
      'leash.actions.proposed.v1',
      'leash.actions.decided.v1',
      'leash.actions.funded.v1',
      'leash.actions.completed.v1',
      'leash.usage.recorded.v1',
      'leash.tasks.finished.v1',
    ]) {
      expect(types).toContain(type);
    }
    const decided = trajectory.entries.find((e) => e.type === 'leash.actions.decided.v1');
    expect(decided?.decision).toMatchObject({
      gate: 'policy',
      reason: expect.any(String),
      policyVersion: expect.any(Number),
      signerKeyId: expect.any(String),
    });
    expect(decided?.traceparent).toMatch(/^00-/);
    expect(trajectory.run).toMatchObject({
      taskId: allowTask,
      tenantId: TENANT,
      agent: 'it-helpdesk',
      status: 'succeeded',
      latencyMs: expect.any(Number),
    });
    expect(trajectory.run?.costUsdMicros).toBeGreaterThan(0);
    const found = await searchRuns(store, { tenantId: TENANT, sort: 'cost' });
    expect(found.map((run) => run.taskId).sort()).toEqual([allowTask, approvalTask].sort());
  });

  it("exports the CLI's spans: a task submitted with `leash task submit` has its root there", async () => {
    const cli = launch(
      'apps/leash/src/bin.ts',
      {
        ...process.env,
        LEASH_BUS_FILE: join(dir, 'bus.db'),
        LEASH_STORE_FILE: join(dir, 'store.db'),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      },
      { args: ['task', 'submit', '--scenario', 'it-helpdesk.wifi-ticket', '--tenant', TENANT] },
    );
    const code = await cli.exited;
    const printed = cli.output();
    expect({ code, printed }).toEqual({
      code: 0,
      printed: expect.stringMatching(/^submitted task /),
    });
    const taskId = /submitted task (\S+)/.exec(printed)![1]!;
    await untilFinished(taskId);

    // Exported before the CLI exited: its span is there, the root of the task's trace.
    const root = receiver.spans.find((span) => span.name === 'leash task submit');
    expect(root).toMatchObject({
      parentSpanId: '',
      resource: expect.objectContaining({ 'service.name': 'leash-cli' }),
      attributes: expect.objectContaining({
        'leash.cli.command': 'task-submit',
        'process.exit.code': 0,
      }),
    });
    await waitFor(
      () =>
        receiver.spans.some(
          (span) =>
            span.traceId === root!.traceId &&
            span.resource['service.name'] === 'planner' &&
            span.attributes['leash.task.id'] === taskId,
        ),
      { timeoutMs: 30_000, description: "the planner's spans of the task in the CLI's trace" },
    );
  });

  it('serves the named metrics, moving as events flow, and health through terminus', async () => {
    const scrape = async () => (await fetch(`${url}/metrics`)).text();
    const sample = (text: string, series: string): number =>
      text
        .split('\n')
        .filter((line) => line.startsWith(series))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

    const before = await scrape();
    for (const series of [
      'leash_actions_total',
      'leash_gate_duration_seconds_bucket',
      'leash_approvals_waiting',
      'leash_approvals_oldest_wait_seconds',
      'leash_tenant_spend_usd',
      'leash_budget_cap_used_ratio',
      'leash_kills_total',
      'leash_kill_acks_total',
      'leash_dead_letters_total',
      'leash_consumer_lag',
      'leash_messages_processed_total',
      'leash_tasks_finished_total',
      'leash_model_tokens_total',
      'leash_model_cost_usd_total',
      'leash_tool_calls_in_flight',
      'leash_tool_call_duration_seconds_bucket',
    ]) {
      expect(before).toContain(`# TYPE ${series.replace(/_bucket$/, '')}`);
    }
    // The tasks so far, their model use and their tool runs, by agent, model and tool.
    expect(sample(before, 'leash_tasks_finished_total{agent="it-helpdesk",')).toBeGreaterThan(0);
    expect(
      sample(before, 'leash_model_tokens_total{agent="it-helpdesk",model="scripted",type="input"}'),
    ).toBeGreaterThan(0);
    expect(sample(before, 'leash_model_cost_usd_total{agent="it-helpdesk",')).toBeGreaterThan(0);
    expect(before).toMatch(
      /leash_tool_call_duration_seconds_count\{tool="\w+",status="succeeded"\} [1-9]/,
    );
    expect(
      sample(before, 'leash_actions_total{gate="policy",route="allow",decision="allow"}'),
    ).toBeGreaterThan(0);
    expect(sample(before, `leash_tenant_spend_usd{tenant="${TENANT}"}`)).toBeGreaterThan(0);
    expect(before).toMatch(/leash_consumer_lag\{group="audit",topic="leash\.tasks\.requested"/);

    // A kill for a tenant with nothing running, a forged event, and one more task: the series move.
    await engines.bus.publish(
      'control',
      createEnvelope(
        'leash.control.kill.v1',
        {
          commandId: 'obs-kill',
          scope: { kind: 'tenant', tenantId: 'nobody' },
          reason: 'metrics test',
          issuedBy: 'test',
          issuedAt: new Date().toISOString(),
        },
        { source: 'test' },
      ),
    );
    await engines.bus.publishRaw('actions.proposed', {
      key: 'x',
      value: Buffer.from('not an event'),
      headers: {},
    });
    await untilFinished(await submit('it-helpdesk.wifi-ticket'));
    const after = await waitFor(
      async () => {
        const text = await scrape();
        return sample(text, 'leash_kill_acks_total') >= 5 &&
          sample(text, 'leash_dead_letters_total') > 0
          ? text
          : undefined;
      },
      { description: 'kill acknowledgements and a dead letter in the metrics' },
    );
    expect(sample(after, 'leash_kills_total')).toBeGreaterThanOrEqual(5);
    expect(sample(after, 'leash_actions_total')).toBeGreaterThan(
      sample(before, 'leash_actions_total'),
    );
    expect(sample(after, 'leash_gate_duration_seconds_count')).toBeGreaterThan(
      sample(before, 'leash_gate_duration_seconds_count'),
    );

    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      info: { 'planner.bus': { status: 'up' }, 'executor.store': { status: 'up' } },
    });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });
});
