import { createBus, InMemoryTransport, type Bus } from '@leash/bus';
import { createEnvelope, type Envelope } from '@leash/contracts';
import { generateVerdictKeyPair, verifyVerdictProof } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { runApprovalConsumer, type ApprovalConsumer } from './approval-consumer';
import type { ApprovalRequest } from './verdict';

const NOW = Date.parse('2030-01-01T12:00:00Z');
const ALICE_KEYS = generateVerdictKeyPair();
const key = ALICE_KEYS.privateKeyPem;

let counter = 0;
function requested(
  overrides: { group?: string; tenantId?: string; expiresAt?: string } = {},
): Envelope<'leash.approvals.requested.v1'> {
  counter += 1;
  return createEnvelope(
    'leash.approvals.requested.v1',
    {
      approvalId: `apr_${counter}`,
      actionId: `action-${counter}`,
      actionHash: 'ab'.repeat(32),
      agent: { name: 'support', version: 1 },
      tool: 'issue_refund',
      arguments: { orderId: 'o-42', amountUsd: 250 },
      reason: 'charged twice',
      riskClass: 'irreversible',
      policy: { policyId: 'support', version: 4, determiningPolicies: ['refund-above-100'] },
      reservedUsdMicros: 1_500,
      history: ['step 1 lookup_customer: allowed'],
      reviewersRequired: 1,
      reviewerGroup: overrides.group ?? 'support-leads',
      expiresAt: overrides.expiresAt ?? '2030-01-01T14:00:00Z',
    },
    { source: 'approvals', tenantId: overrides.tenantId ?? 'acme', taskId: `task-${counter}` },
  );
}

describe('runApprovalConsumer', () => {
  let bus: Bus;
  let consumer: ApprovalConsumer | undefined;
  const verdicts: Envelope<'leash.approvals.decided.v1'>[] = [];

  beforeEach(async () => {
    verdicts.length = 0;
    bus = createBus({
      transport: new InMemoryTransport(),
      source: 'test',
      retry: { maxAttempts: 1 },
    });
    await bus.subscribe(
      'verdict-observer',
      ['approvals.decided'],
      async (delivery) => {
        if (delivery.event.type === 'leash.approvals.decided.v1') verdicts.push(delivery.event);
      },
      { fromBeginning: true },
    );
  });

  afterEach(async () => {
    await consumer?.close();
    consumer = undefined;
    await bus.close();
  });

  it("answers its group's requests with the reviewer's verdict, bound to the request", async () => {
    const seen: ApprovalRequest[] = [];
    const request = requested();
    // Published before the reviewer's process starts: it still gets it.
    await bus.publish('approvals.requested', request);
    consumer = await runApprovalConsumer(bus, {
      reviewer: 'alice@acme.example',
      key,
      group: 'support-leads',
      now: () => NOW,
      decide: async (r) => {
        seen.push(r);
        return { verdict: 'reject', feedback: 'refund only one charge' };
      },
    });
    const [verdict] = await waitFor(() => (verdicts.length > 0 ? verdicts : undefined));
    expect(seen[0]).toMatchObject({
      approvalId: request.data.approvalId,
      tenantId: 'acme',
      taskId: request.taskId,
      eventId: request.id,
      tool: 'issue_refund',
      history: ['step 1 lookup_customer: allowed'],
    });
    expect(verdict).toMatchObject({
      id: `verdict:alice@acme.example:${request.data.approvalId}`,
      tenantId: 'acme',
      taskId: request.taskId,
      data: {
        verdict: 'reject',
        approvalId: request.data.approvalId,
        actionHash: request.data.actionHash,
        reviewer: 'alice@acme.example',
        feedback: 'refund only one charge',
        proof: { by: 'reviewer', keyId: ALICE_KEYS.keyId },
      },
    });
    // Signed with the key it was given, over exactly this verdict.
    expect(verifyVerdictProof(verdict!, verdict!.data.proof!, ALICE_KEYS.publicKey)).toBe(true);
  });

  it('skips other groups, other tenants, expired requests, and abstentions', async () => {
    const asked: string[] = [];
    consumer = await runApprovalConsumer(bus, {
      reviewer: 'alice@acme.example',
      key,
      group: 'support-leads',
      tenantId: 'acme',
      now: () => NOW,
      decide: async (r) => {
        asked.push(r.approvalId);
        return r.approvalId === last.data.approvalId ? { verdict: 'approve' } : undefined;
      },
    });
    const otherGroup = requested({ group: 'finance' });
    const otherTenant = requested({ tenantId: 'globex' });
    const expired = requested({ expiresAt: '2030-01-01T11:00:00Z' });
    const abstained = requested();
    const last = requested();
    for (const event of [otherGroup, otherTenant, expired, abstained, last]) {
      await bus.publish('approvals.requested', event);
    }
    await waitFor(() => verdicts.length > 0 && asked.length === 2);
    // Requests of different tasks sit on different partitions: no order between them.
    expect(asked.sort()).toEqual([abstained.data.approvalId, last.data.approvalId].sort());
    expect(verdicts.map((v) => v.data.approvalId)).toEqual([last.data.approvalId]);
  });

  it('reports a failing decision and leaves the request unanswered', async () => {
    const errors: unknown[] = [];
    const answered: string[] = [];
    consumer = await runApprovalConsumer(bus, {
      reviewer: 'alice@acme.example',
      key,
      now: () => NOW,
      decide: async (r) => {
        if (r.approvalId === failing.data.approvalId) throw new Error('ticket system down');
        return { verdict: 'approve' };
      },
      onError: (error) => errors.push(error),
      onAnswered: (r) => answered.push(r.approvalId),
    });
    const failing = requested();
    const next = requested();
    await bus.publish('approvals.requested', failing);
    await bus.publish('approvals.requested', next);
    await waitFor(() => answered.length === 1 && errors.length === 1);
    expect(answered).toEqual([next.data.approvalId]);
  });

  it('needs a reviewer identity and an Ed25519 key to sign with', async () => {
    await expect(
      runApprovalConsumer(bus, { reviewer: '', key, decide: async () => undefined }),
    ).rejects.toThrow(/reviewer identity/);
    await expect(
      runApprovalConsumer(bus, { reviewer: 'alice', key: '', decide: async () => undefined }),
    ).rejects.toThrow(/a key to sign alice's verdicts is required/);
    await expect(
      runApprovalConsumer(bus, {
        reviewer: 'alice',
        key: ALICE_KEYS.publicKey,
        decide: async () => undefined,
      }),
    ).rejects.toThrow();
  });
});
