import { ManualClock } from '@leash/clock';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import type { Subscription } from '@leash/bus';
import { runApprovalConsumer } from '@leash/client';
import { BASE_ENV, extendEnv, loadConfig } from '@leash/config';
import type { AnyEnvelope, Envelope, EventType } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { startService, type RunningService } from '@leash/service-runtime';
import { approvalFields } from '@leash/signing';
import { OutboxRelay } from '@leash/store';
import { waitFor } from '@leash/testing';
import { APPROVAL_GATE, ApprovalGateModule } from '../gate/approval-gate.module';
import type { ApprovalGate } from '../gate/approval-gate.factory';
import { APPROVALS_GATE_REQUIREMENTS, APPROVALS_GATE_VARIABLES } from '../gate/approvals.config';
import { createApprovalQueries } from '../gate/approval-gate.factory';
import {
  REVIEWERS,
  APPROVALS_KEY_ENV,
  approvalsVerifier,
  upstreamSigners,
  fundedEvent,
  referenceProfiles,
  reviewerKeyPair,
  reviewerSigningKey,
  verdictOn,
  type FundedOptions,
} from './approvals-harness';

/*
 * The approval gate as it runs: a Nest microservice on the embedded engines
 * (SQLite bus and store in files), its consumers in group `approvals`, its
 * events leaving through the outbox and a relay, read back by another
 * consumer group. Funded actions and verdicts arrive on the bus.
 */
describe('approvals on the embedded engines', () => {
  const ENV = extendEnv(BASE_ENV, APPROVALS_GATE_VARIABLES, APPROVALS_GATE_REQUIREMENTS);
  const clock = new ManualClock(Date.now());
  const upstream = upstreamSigners();
  let directory: string;
  let engines: Engines;
  let service: RunningService;
  let relay: OutboxRelay;
  let watcher: Subscription;
  let gate: ApprovalGate;
  const seen = new Map<string, AnyEnvelope>();

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'leash-approvals-'));
    const env = {
      LEASH_BUS_FILE: join(directory, 'bus.db'),
      LEASH_STORE_FILE: join(directory, 'store.db'),
      LEASH_PARTITIONS: '2',
      ...APPROVALS_KEY_ENV,
      LEASH_REVIEWERS: JSON.stringify(REVIEWERS),
      LEASH_APPROVAL_SWEEP_INTERVAL_MS: '100',
    };
    engines = await openEngines(loadConfig(ENV, { env }), { source: 'approvals' });

    @Module({
      imports: [ApprovalGateModule.forRoot({ profiles: () => referenceProfiles(), clock })],
    })
    class ApprovalsUnderTest {}

    service = await startService(
      { name: 'approvals', env: ENV, module: ApprovalsUnderTest },
      { engines, env, logger: false },
    );
    gate = service.app.get<ApprovalGate>(APPROVAL_GATE);
    relay = new OutboxRelay({ outbox: engines.store.outbox, bus: engines.bus, pollIntervalMs: 20 });
    relay.start();
    watcher = await engines.bus.subscribe(
      'approvals-spec-watcher',
      [
        'approvals.requested',
        'approvals.verdicts',
        'actions.authorized',
        'actions.rejected',
        'actions.proposed',
      ],
      async (delivery) => {
        seen.set(delivery.event.id, delivery.event);
      },
      { fromBeginning: true },
    );
  });

  afterAll(async () => {
    await watcher?.close();
    await relay?.stop();
    await service?.close();
    await engines?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function find<T extends EventType>(
    type: T,
    match: (event: Envelope<T>) => boolean,
  ): Envelope<T> | undefined {
    for (const event of seen.values()) {
      if (event.type === type && match(event as unknown as Envelope<T>)) {
        return event as unknown as Envelope<T>;
      }
    }
    return undefined;
  }

  function next<T extends EventType>(
    type: T,
    match: (event: Envelope<T>) => boolean,
    description: string,
  ): Promise<Envelope<T>> {
    return waitFor(() => find(type, match), { description });
  }

  async function fund(options: FundedOptions): Promise<Envelope<'leash.approvals.requested.v1'>> {
    const funded = fundedEvent(upstream, clock, options);
    await engines.bus.publish('actions.funded', funded);
    return next(
      'leash.approvals.requested.v1',
      (e) => e.data.actionId === funded.data.actionId,
      `the approval request of ${funded.data.actionId}`,
    );
  }

  function decide(verdict: Envelope<'leash.approvals.decided.v1'>) {
    return engines.bus.publish('approvals.decided', verdict);
  }

  /** Waits until the gate has recorded the verdict: its audit record exists. */
  function recorded(verdict: Envelope<'leash.approvals.decided.v1'>) {
    return waitFor(() => gate.verdict(verdict.id), {
      description: `the verdict ${verdict.id} to be recorded`,
    });
  }

  it('approve: authorizes, with an approval signature the executor verifies', async () => {
    const request = await fund({ taskId: 'it-approve', actionId: 'refund-approve' });
    await decide(verdictOn(request, 'alice@acme.example', { verdict: 'approve' }));
    const authorized = await next(
      'leash.actions.authorized.v1',
      (e) => e.data.actionId === 'refund-approve',
      'the authorized action',
    );
    const { approval, arguments: args, tool } = authorized.data;
    const executor = approvalsVerifier();
    const identity = {
      tenantId: 'acme',
      taskId: 'it-approve',
      actionId: 'refund-approve',
      tool,
      arguments: args,
    };
    expect(
      executor.verify(
        approvalFields(identity, approval.approvalId, approval.reviewers),
        approval.signed,
      ),
    ).toEqual({ ok: true });
    expect(approval.reviewers).toEqual(['alice@acme.example']);
    expect(authorized.source).toBe('approvals');
  });

  it('a second approve after authorization is refused: an approval is used once', async () => {
    const request = await fund({ taskId: 'it-once', actionId: 'refund-once' });
    await decide(verdictOn(request, 'alice@acme.example', { verdict: 'approve' }));
    await next(
      'leash.actions.authorized.v1',
      (e) => e.data.actionId === 'refund-once',
      'authorized',
    );
    const again = verdictOn(request, 'bob@acme.example', { verdict: 'approve' });
    await decide(again);
    await expect(recorded(again)).resolves.toMatchObject({
      outcome: 'refused',
      refusal: 'already_used',
    });
    const authorizations = [...seen.values()].filter(
      (e) => e.type === 'leash.actions.authorized.v1' && e.data.actionId === 'refund-once',
    );
    expect(authorizations).toHaveLength(1);
  });

  it('reject: the planner gets actions.rejected with the feedback', async () => {
    const request = await fund({ taskId: 'it-reject', actionId: 'refund-reject' });
    await decide(
      verdictOn(request, 'bob@acme.example', {
        verdict: 'reject',
        feedback: 'ask for the receipt first',
      }),
    );
    const rejected = await next(
      'leash.actions.rejected.v1',
      (e) => e.data.actionId === 'refund-reject',
      'the rejection',
    );
    expect(rejected.data).toMatchObject({
      gate: 'approvals',
      code: 'approval_rejected',
      feedback: 'ask for the receipt first',
    });
  });

  it('edit: a new proposal replaces the action, which is rejected as edited', async () => {
    const request = await fund({ taskId: 'it-edit', actionId: 'refund-edit' });
    await decide(
      verdictOn(request, 'alice@acme.example', {
        verdict: 'edit',
        arguments: { orderId: 'o-42', amountUsd: 100 },
      }),
    );
    const proposed = await next(
      'leash.actions.proposed.v1',
      (e) => e.data.replaces === 'refund-edit',
      'the re-proposal',
    );
    expect(proposed).toMatchObject({ tenantId: 'acme', taskId: 'it-edit' });
    expect(proposed.data.arguments).toEqual({ orderId: 'o-42', amountUsd: 100 });
    const rejected = await next(
      'leash.actions.rejected.v1',
      (e) => e.data.actionId === 'refund-edit',
      'the old action closed',
    );
    expect(rejected.data).toMatchObject({ code: 'edited', replacedBy: proposed.data.actionId });
  });

  it('two reviewers: one is not enough, the same one twice is not two, two distinct authorize', async () => {
    const request = await fund({
      taskId: 'it-quorum',
      actionId: 'refund-quorum',
      approvalsRequired: 2,
    });
    expect(request.data.reviewersRequired).toBe(2);
    const first = verdictOn(request, 'alice@acme.example', { verdict: 'approve' });
    await decide(first);
    await expect(recorded(first)).resolves.toMatchObject({ outcome: 'accepted' });
    const twice = verdictOn(request, 'alice@acme.example', { verdict: 'approve' });
    await decide(twice);
    await expect(recorded(twice)).resolves.toMatchObject({ refusal: 'duplicate_reviewer' });
    expect(
      find('leash.actions.authorized.v1', (e) => e.data.actionId === 'refund-quorum'),
    ).toBeUndefined();

    await decide(verdictOn(request, 'bob@acme.example', { verdict: 'approve' }));
    const authorized = await next(
      'leash.actions.authorized.v1',
      (e) => e.data.actionId === 'refund-quorum',
      'the quorum',
    );
    expect(authorized.data.approval.reviewers).toEqual(['alice@acme.example', 'bob@acme.example']);
  });

  it('a verdict from a reviewer who is not allowed is refused, audited, and changes nothing', async () => {
    const request = await fund({ taskId: 'it-outsider', actionId: 'refund-outsider' });
    const outsider = verdictOn(request, 'dave@acme.example', { verdict: 'approve' });
    const otherTenant = verdictOn(request, 'mallory@globex.example', { verdict: 'approve' });
    await decide(outsider);
    await decide(otherTenant);
    await expect(recorded(outsider)).resolves.toMatchObject({
      outcome: 'refused',
      refusal: 'not_in_group',
      reason: expect.stringContaining('support-leads'),
    });
    await expect(recorded(otherTenant)).resolves.toMatchObject({
      outcome: 'refused',
      refusal: 'unknown_reviewer',
    });
    const [pending] = await gate.listPendingApprovals
      .execute({ tenantId: 'acme', group: 'support-leads' })
      .then((list) => list.filter((p) => p.actionId === 'refund-outsider'));
    expect(pending).toMatchObject({ approvedBy: [] });
    expect(
      find('leash.actions.authorized.v1', (e) => e.data.actionId === 'refund-outsider'),
    ).toBeUndefined();
  });

  it('a verdict bound to another action hash is refused', async () => {
    const request = await fund({ taskId: 'it-hash', actionId: 'refund-hash' });
    const forged = verdictOn(
      request,
      'alice@acme.example',
      { verdict: 'approve' },
      { actionHash: 'cd'.repeat(32) },
    );
    await decide(forged);
    await expect(recorded(forged)).resolves.toMatchObject({ refusal: 'hash_mismatch' });
    expect(
      find('leash.actions.authorized.v1', (e) => e.data.actionId === 'refund-hash'),
    ).toBeUndefined();
  });

  it("a verdict naming a finance manager, published without the manager's key, is refused and reported", async () => {
    const request = await fund({
      taskId: 'it-forged',
      actionId: 'refund-forged',
      reviewerGroup: 'finance',
    });
    const unsigned = verdictOn(
      request,
      'dave@acme.example',
      { verdict: 'approve' },
      { signWith: null },
    );
    const ownKey = verdictOn(
      request,
      'dave@acme.example',
      { verdict: 'approve' },
      { signWith: reviewerSigningKey('mallory@globex.example') },
    );
    await decide(unsigned);
    await decide(ownKey);
    await expect(recorded(unsigned)).resolves.toMatchObject({ refusal: 'unproven_reviewer' });
    await expect(recorded(ownKey)).resolves.toMatchObject({ refusal: 'bad_proof' });
    // The task's audit log hears of both on approvals.verdicts.
    const reported = await waitFor(() => {
      const found = [unsigned, ownKey].map((v) =>
        find('leash.approvals.verdict_recorded.v1', (e) => e.data.verdictId === v.id),
      );
      return found.every(Boolean) ? found : undefined;
    });
    expect(reported.map((e) => e!.data.refusal)).toEqual(['unproven_reviewer', 'bad_proof']);
    expect(
      find('leash.actions.authorized.v1', (e) => e.data.actionId === 'refund-forged'),
    ).toBeUndefined();
  });

  it('a key revoked by another process is refused from the next verdict on', async () => {
    // Another process on the same files, as `leash reviewers revoke-key` is.
    const other = await openEngines(
      loadConfig(BASE_ENV, {
        env: {
          LEASH_BUS_FILE: join(directory, 'bus.db'),
          LEASH_STORE_FILE: join(directory, 'store.db'),
          LEASH_PARTITIONS: '2',
        },
      }),
      { source: 'leash-cli' },
    );
    try {
      const before = await fund({ taskId: 'it-revoke-1', actionId: 'refund-revoke-1' });
      const accepted = verdictOn(before, 'bob@acme.example', { verdict: 'reject', feedback: 'no' });
      await decide(accepted);
      await expect(recorded(accepted)).resolves.toMatchObject({ outcome: 'accepted' });

      await createApprovalQueries(other.store).directory.revokeKey('acme', 'bob@acme.example');
      const request = await fund({ taskId: 'it-revoke-2', actionId: 'refund-revoke-2' });
      const refused = verdictOn(request, 'bob@acme.example', { verdict: 'approve' });
      await decide(refused);
      await expect(recorded(refused)).resolves.toMatchObject({
        outcome: 'refused',
        refusal: 'bad_proof',
        reason: expect.stringContaining('was revoked at'),
      });
    } finally {
      await other.close();
    }
  });

  it('expiry: an unanswered request is denied by the sweeper', async () => {
    const request = await fund({ taskId: 'it-expire', actionId: 'refund-expire' });
    clock.at = Date.parse(request.data.expiresAt);
    const rejected = await next(
      'leash.actions.rejected.v1',
      (e) => e.data.actionId === 'refund-expire',
      'the expiry',
    );
    expect(rejected.data).toMatchObject({ gate: 'approvals', code: 'approval_expired' });
  });

  it('escalation: the second group is asked when the first is silent, and its approval authorizes', async () => {
    const answered: string[] = [];
    // The service desk's process; the end user never answers.
    const desk = await runApprovalConsumer(engines.bus, {
      reviewer: 'frank@acme.example',
      key: reviewerKeyPair('frank@acme.example').privateKeyPem,
      group: 'it-service-desk',
      tenantId: 'acme',
      now: () => clock.now(),
      decide: async (request) => {
        answered.push(request.approvalId);
        return { verdict: 'approve', comment: 'user is locked out, confirmed by phone' };
      },
    });
    try {
      const first = await fund({
        taskId: 'it-escalate',
        actionId: 'reset-escalate',
        agent: 'it-helpdesk',
        tool: 'reset_password',
        arguments: { userEmail: 'pat@acme.example' },
      });
      expect(first.data.reviewerGroup).toBe('end-user');
      clock.at = Date.parse(first.data.expiresAt);
      const second = await next(
        'leash.approvals.requested.v1',
        (e) => e.data.actionId === 'reset-escalate' && e.data.reviewerGroup === 'it-service-desk',
        'the escalation to the service desk',
      );
      expect(second.data.approvalId).not.toBe(first.data.approvalId);
      const authorized = await next(
        'leash.actions.authorized.v1',
        (e) => e.data.actionId === 'reset-escalate',
        'the service desk approval',
      );
      expect(authorized.data.approval).toMatchObject({
        approvalId: second.data.approvalId,
        reviewers: ['frank@acme.example'],
      });
      expect(answered).toEqual([second.data.approvalId]);
      expect(
        find('leash.actions.rejected.v1', (e) => e.data.actionId === 'reset-escalate'),
      ).toBeUndefined();
    } finally {
      await desk.close();
    }
  });
});
