import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REFERENCE_AGENT_SET } from '@leash/agents';
import type { Subscription } from '@leash/bus';
import { generateVerdictKeyPair, verdictSigningKey } from '@leash/signing';
import { resetLeashMetrics } from '@leash/telemetry';
import { waitFor } from '@leash/testing';
import { HOUR, fundedEvent, openHarness, type Harness } from '../test/approvals-harness';
import { InboxDesk, type QueueItem } from './inbox-desk';
import { WebhookNotifier } from './inbox-notifications';
import { startInboxServer, type InboxServer } from './inbox-server';
import { createInvite } from './inbox-sign-in';

/*
 * The inbox's HTTP surface on the approval gate's harness (a manual clock,
 * the store in memory, the embedded bus): verdicts go out on the bus signed
 * by the inbox as a front end, and the gate records them as it would in the
 * service. What a browser cannot easily show is checked here: expiry, the
 * rate limit, CSRF and Origin, the proxy's identity header, webhook retries.
 */

const FRONT_END = generateVerdictKeyPair();

describe('the inbox over HTTP', () => {
  let h: Harness;
  let server: InboxServer;
  let relay: Subscription;

  async function open(options: { auth?: 'invite' | 'header'; verdictsPerMinute?: number } = {}) {
    h = await openHarness({
      frontEnds: [{ name: 'web-inbox', publicKey: FRONT_END.publicKey }],
    });
    const desk = new InboxDesk({
      store: h.engines.store,
      bus: h.engines.bus,
      tools: REFERENCE_AGENT_SET.tools,
      key: verdictSigningKey(FRONT_END.privateKeyPem, { frontEnd: 'web-inbox' }),
      verdictsPerMinute: options.verdictsPerMinute ?? 30,
      now: h.clock.now,
    });
    // The approvals service's part: record each verdict the inbox publishes.
    relay = await h.engines.bus.subscribe('approvals', ['approvals.decided'], async (delivery) => {
      if (delivery.event.type === 'leash.approvals.decided.v1') {
        await h.gate.recordVerdict.execute({ event: delivery.event });
      }
    });
    server = await startInboxServer({
      store: h.engines.store,
      desk,
      host: '127.0.0.1',
      port: 0,
      auth: options.auth ?? 'invite',
      identityHeader: 'X-Forwarded-Email',
      sessionTtlMs: 12 * HOUR,
      onChange: () => () => undefined,
      now: h.clock.now,
    });
  }

  afterEach(async () => {
    await server?.close();
    await relay?.close();
    await h?.close();
  });

  async function fund(actionId: string, tool = 'issue_refund') {
    await h.gate.requestApproval.execute({
      event: fundedEvent(h.upstream, h.clock, { actionId, tool }),
    });
    const pending = await h.gate.listPendingApprovals.execute({ tenantId: 'acme' });
    return pending.find((p) => p.actionId === actionId)!;
  }

  /** Signs in from an invite as a browser would; returns the cookie and the CSRF token. */
  async function signIn(reviewer: string) {
    const { token } = await createInvite(h.engines.store, {
      tenantId: 'acme',
      reviewer,
      ttlMs: HOUR,
      now: h.clock.now(),
    });
    const response = await fetch(`${server.url}/signin`, {
      method: 'POST',
      body: new URLSearchParams({ token }),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    const setCookie = response.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly; SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    const page = await (await fetch(server.url, { headers: { cookie } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
    return { cookie, csrf };
  }

  async function post(
    session: { cookie: string; csrf: string },
    approvalId: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    const response = await fetch(`${server.url}/api/requests/${approvalId}/verdict`, {
      method: 'POST',
      headers: {
        cookie: session.cookie,
        'content-type': 'application/json',
        'x-csrf-token': session.csrf,
        ...headers,
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it("approves as the session's reviewer, proven by the inbox; the gate records the front end", async () => {
    await open();
    const request = await fund('refund-1');
    const alice = await signIn('alice@acme.example');
    const queue = (await (
      await fetch(`${server.url}/api/queue`, { headers: { cookie: alice.cookie } })
    ).json()) as { items: QueueItem[] };
    expect(queue.items.map((i) => [i.approvalId, i.approvals, i.reviewersRequired])).toEqual([
      [request.approvalId, 0, 1],
    ]);
    expect(await post(alice, request.approvalId, { verdict: 'approve' })).toMatchObject({
      status: 200,
      body: { accepted: true },
    });
    const [record] = await h.engines.store
      .repository((await import('../gate/approvals.aggregates')).verdictRecords)
      .find({ where: { approvalId: request.approvalId } });
    expect(record?.doc).toMatchObject({
      reviewer: 'alice@acme.example',
      outcome: 'accepted',
      provenBy: { by: 'front_end', frontEnd: 'web-inbox' },
    });
  });

  it('refuses a verdict on an expired request, without publishing it', async () => {
    await open();
    const request = await fund('refund-2');
    const alice = await signIn('alice@acme.example');
    h.clock.advance(3 * HOUR);
    const answer = await post(alice, request.approvalId, { verdict: 'approve' });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/expired at/);
    expect((await h.gate.request(request.approvalId))?.status).toBe('pending');
  });

  it('needs the CSRF token and a same-origin request, and refuses a reviewer named in the body', async () => {
    await open();
    const request = await fund('refund-3');
    const alice = await signIn('alice@acme.example');
    expect(
      (await post({ ...alice, csrf: 'forged' }, request.approvalId, { verdict: 'approve' })).status,
    ).toBe(403);
    expect(
      (
        await post(
          alice,
          request.approvalId,
          { verdict: 'approve' },
          { origin: 'https://evil.example' },
        )
      ).status,
    ).toBe(403);
    expect(
      (await post(alice, request.approvalId, { verdict: 'approve', reviewer: 'bob@acme.example' }))
        .status,
    ).toBe(400);
    expect(
      (await post(alice, request.approvalId, { verdict: 'reject', feedback: ' ' })).status,
    ).toBe(400);
    expect((await h.gate.request(request.approvalId))?.status).toBe('pending');
  });

  it("checks an edit against the tool's parameters before anything is published", async () => {
    await open();
    const request = await fund('refund-4');
    const alice = await signIn('alice@acme.example');
    const answer = await post(alice, request.approvalId, {
      verdict: 'edit',
      arguments: { ...request.arguments, amountUsd: -1 },
    });
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatch(/amountUsd/);
  });

  it('rate-limits verdicts per reviewer', async () => {
    await open({ verdictsPerMinute: 1 });
    const first = await fund('refund-5');
    const second = await fund('refund-6');
    const alice = await signIn('alice@acme.example');
    expect((await post(alice, first.approvalId, { verdict: 'approve' })).status).toBe(200);
    const limited = await post(alice, second.approvalId, { verdict: 'approve' });
    expect(limited).toMatchObject({ status: 429 });
    expect((await h.gate.request(second.approvalId))?.status).toBe('pending');
  });

  it("signs in the proxy's identity header, and shows that reviewer only their groups' requests", async () => {
    await open({ auth: 'header' });
    const refund = await fund('refund-7');
    expect((await fetch(server.url)).status).toBe(401);
    const asDave = await fetch(`${server.url}/api/queue`, {
      headers: { 'x-forwarded-email': 'dave@acme.example' },
    });
    expect(asDave.headers.get('set-cookie')).toMatch(/HttpOnly/);
    expect(((await asDave.json()) as { items: unknown[] }).items).toEqual([]);
    const asAlice = await fetch(`${server.url}/api/queue`, {
      headers: { 'x-forwarded-email': 'alice@acme.example' },
    });
    const items = ((await asAlice.json()) as { items: QueueItem[] }).items;
    expect(items.map((i) => i.approvalId)).toEqual([refund.approvalId]);
    const page = await fetch(`${server.url}/requests/${refund.approvalId}`, {
      headers: { 'x-forwarded-email': 'dave@acme.example' },
    });
    expect(page.status).toBe(404);
  });
});

describe('group webhooks', () => {
  let hook: Server;
  let answers: number[];
  let received: string[];

  beforeEach(async () => {
    answers = [];
    received = [];
    hook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(body);
        response.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  });

  afterEach(() => new Promise((resolve) => hook.close(resolve)));

  const item: QueueItem = {
    approvalId: 'apr_1',
    tenantId: 'acme',
    taskId: 'task-1',
    agent: { name: 'support', version: 1 },
    tool: 'issue_refund',
    riskClass: 'write',
    amountUsd: 240,
    reviewerGroup: 'support-leads',
    approvals: 0,
    reviewersRequired: 1,
    tainted: true,
    expiresAt: '2026-03-01T14:00:00.000Z',
    requestedAt: '2026-03-01T12:00:00.000Z',
  };

  it('retries with backoff until delivered, and counts and logs what failed for good', async () => {
    const metrics = resetLeashMetrics();
    const warnings: string[] = [];
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
    const notifier = new WebhookNotifier({
      hooks: [
        { group: 'support-leads', url, format: 'slack' },
        { group: 'finance', url },
      ],
      logger: { warn: (_fields, message) => warnings.push(message) },
      attempts: 3,
      backoffMs: 1,
    });
    answers.push(500);
    notifier.notify({ kind: 'requested', item, url: 'http://inbox/requests/apr_1' });
    await notifier.settled();
    expect(received).toHaveLength(2);
    const slack = JSON.parse(received[1]!) as { text: string; blocks: unknown[] };
    expect(slack.text).toContain('issue_refund $240.00');
    expect(JSON.stringify(slack.blocks)).toContain('"url":"http://inbox/requests/apr_1"');

    const failing = new WebhookNotifier({
      hooks: [{ group: 'support-leads', url }],
      logger: { warn: (_fields, message) => warnings.push(message) },
      attempts: 3,
      backoffMs: 1,
    });
    answers.push(503, 503, 503);
    failing.notify({ kind: 'expiring', item, url: 'http://inbox/requests/apr_1' });
    await failing.settled();
    expect(JSON.parse(received[2]!)).toMatchObject({
      event: 'approval.expiring',
      request: { approvalId: 'apr_1' },
    });
    expect(warnings).toEqual([
      'inbox: the webhook of group support-leads failed after 3 attempts: HTTP 503',
    ]);
    const counted = await metrics.inboxNotifications.get();
    const count = (kind: string, outcome: string) =>
      counted.values.find((v) => v.labels.kind === kind && v.labels.outcome === outcome)?.value;
    expect([count('requested', 'delivered'), count('requested', 'retried')]).toEqual([1, 1]);
    expect([count('expiring', 'retried'), count('expiring', 'failed')]).toEqual([3, 1]);
  });

  it('never waits for a webhook: notify returns at once', async () => {
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
    const notifier = new WebhookNotifier({
      hooks: [{ group: 'support-leads', url }],
      logger: { warn: () => undefined },
    });
    const returned = notifier.notify({ kind: 'requested', item, url: 'x' });
    expect(returned).toBeUndefined();
    expect(received).toHaveLength(0);
    await notifier.close();
    await waitFor(() => received.length === 1);
  });
});
