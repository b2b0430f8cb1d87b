import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@leash/config';
import type { TopicName } from '@leash/contracts';
import { generateVerdictKeyPair } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { APPROVALS_ENV } from '../config';
import {
  APPROVALS_KEY_ENV,
  HOUR,
  fundedEvent,
  openHarness,
  verdictOn,
  type Harness,
} from '../test/approvals-harness';
import type { QueueItem } from './inbox-desk';
import { closeSession, openSession } from './inbox-sign-in';
import { startInbox, type RunningInbox } from './start-inbox';

/*
 * The inbox as the service starts it, on the gate's harness and a real
 * embedded bus: an open page's event stream follows the queue as requests
 * arrive and are answered elsewhere, and each group's webhook hears of a
 * request, its escalation to the next group, and the last minutes before it
 * expires. The harness has no outbox relay: the spec publishes what the gate
 * wrote to its outbox, as the relay would.
 */

const INBOX_KEY = generateVerdictKeyPair();

describe('startInbox on the bus', () => {
  let h: Harness;
  let inbox: RunningInbox;
  let hook: Server;
  const posts: { path: string; body: { event: string; request: QueueItem; url: string } }[] = [];
  const relayed = new Set<string>();

  beforeEach(async () => {
    posts.length = 0;
    relayed.clear();
    hook = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        posts.push({ path: request.url ?? '', body: JSON.parse(text) as never });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    h = await openHarness();
    const config = loadConfig(APPROVALS_ENV, {
      env: {
        ...APPROVALS_KEY_ENV,
        LEASH_INBOX_PORT: '0',
        LEASH_INBOX_SIGNING_KEY: INBOX_KEY.privateKeyPem,
        LEASH_INBOX_REMIND_BEFORE_MS: '1000',
        LEASH_INBOX_WEBHOOKS: JSON.stringify([
          { group: 'end-user', url: `${base}/end-user` },
          { group: 'it-service-desk', url: `${base}/desk` },
        ]),
      },
    });
    inbox = await startInbox({
      bus: h.engines.bus,
      store: h.engines.store,
      config,
      now: h.clock.now,
      log: { warn: () => undefined },
    });
  });

  afterEach(async () => {
    await inbox.close();
    await h.close();
    await new Promise((resolve) => hook.close(resolve));
  });

  /** What the outbox relay does: publishes what the gate committed, once. */
  async function relay(): Promise<void> {
    for (const entry of await h.engines.store.outbox.pending(1_000)) {
      if (relayed.has(entry.envelope.id)) continue;
      relayed.add(entry.envelope.id);
      await h.engines.bus.publish(entry.topic as TopicName, entry.envelope as never);
    }
  }

  async function requestReset(actionId: string) {
    await h.gate.requestApproval.execute({
      event: fundedEvent(h.upstream, h.clock, {
        actionId,
        agent: 'it-helpdesk',
        tool: 'reset_password',
        arguments: { userEmail: 'kim@acme.example' },
      }),
    });
    await relay();
    return (await h.gate.listPendingApprovals.execute({ tenantId: 'acme' })).find(
      (p) => p.actionId === actionId,
    )!;
  }

  it("pushes an open page's queue as requests arrive and are answered elsewhere", async () => {
    const { sessionId } = await openSession(
      h.engines.store,
      { reviewer: 'frank@acme.example', tenants: ['acme'], via: 'invite' },
      HOUR,
      h.clock.now(),
    );
    const abort = new AbortController();
    const stream = await fetch(`${inbox.url}/api/events`, {
      headers: { cookie: `leash_inbox=${sessionId}` },
      signal: abort.signal,
    });
    const queues: QueueItem[][] = [];
    void (async () => {
      const reader = stream.body!.getReader();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += Buffer.from(value!).toString();
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const message = text.slice(0, end);
          text = text.slice(end + 2);
          const data = /^event: queue\ndata: (.*)$/m.exec(message)?.[1];
          if (data) queues.push((JSON.parse(data) as { items: QueueItem[] }).items);
        }
      }
    })();
    try {
      await waitFor(() => queues.length === 1);
      expect(queues[0]).toEqual([]);
      // Frank is in it-service-desk; a reset asks the end user first, then the desk.
      const first = await requestReset('reset-1');
      h.clock.advance(31 * 60_000);
      await h.gate.expireApprovals.execute();
      await relay();
      const [escalated] = await waitFor(() => queues.find((q) => q.length === 1));
      expect(escalated).toMatchObject({ reviewerGroup: 'it-service-desk', tool: 'reset_password' });
      expect(escalated!.approvalId).not.toBe(first.approvalId);

      // Answered elsewhere (Frank, from the CLI with his own key): it leaves the open page.
      await h.gate.recordVerdict.execute({
        event: verdictOn(
          { ...escalated!, actionHash: (await h.gate.request(escalated!.approvalId))!.actionHash },
          'frank@acme.example',
          { verdict: 'reject', feedback: 'not without a ticket' },
        ),
      });
      await relay();
      await waitFor(() => queues.length >= 3 && queues[queues.length - 1]!.length === 0, {
        description: 'the answered request to leave the page',
      });
    } finally {
      abort.abort();
    }
  });

  it("ends a signed-out session's stream at the next change", async () => {
    const { sessionId } = await openSession(
      h.engines.store,
      { reviewer: 'frank@acme.example', tenants: ['acme'], via: 'invite' },
      HOUR,
      h.clock.now(),
    );
    const stream = await fetch(`${inbox.url}/api/events`, {
      headers: { cookie: `leash_inbox=${sessionId}` },
    });
    const text = stream.text();
    await closeSession(h.engines.store, sessionId);
    await requestReset('reset-3');
    // It ends (a stream left open would never resolve).
    await expect(text).resolves.toMatch(/^: live/);
    const again = await fetch(`${inbox.url}/api/events`, {
      headers: { cookie: `leash_inbox=${sessionId}` },
    });
    expect(again.status).toBe(401);
  });

  it('notifies each group of a request, of its escalation, and before it expires, with its link', async () => {
    const first = await requestReset('reset-2');
    const requested = await waitFor(() => posts.find((p) => p.path === '/end-user'));
    expect(requested.body).toMatchObject({
      event: 'approval.requested',
      url: `${inbox.url}/requests/${first.approvalId}`,
      request: { approvalId: first.approvalId, reviewerGroup: 'end-user' },
    });
    h.clock.advance(31 * 60_000);
    await h.gate.expireApprovals.execute();
    await relay();
    const escalated = await waitFor(() =>
      posts.find((p) => p.path === '/desk' && p.body.event === 'approval.escalated'),
    );
    const next = escalated.body.request;
    expect(next.approvalId).not.toBe(first.approvalId);
    // Half a second before it expires: inside the reminder window (1 s).
    h.clock.advance(Date.parse(next.expiresAt) - h.clock.now() - 500);
    const expiring = await waitFor(() => posts.find((p) => p.body.event === 'approval.expiring'));
    expect(expiring).toMatchObject({
      path: '/desk',
      body: { request: { approvalId: next.approvalId } },
    });
    expect(posts.filter((p) => p.body.event === 'approval.expiring')).toHaveLength(1);
  });
});
