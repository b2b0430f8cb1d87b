import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEntries } from '@leash/audit';
import { LeashClient } from '@leash/client';
import { approvalRequests } from '@leash/service-approvals';
// A test may load the budget service at once; only the CLI loads it lazily, to start fast.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { BUDGET_ENV } from '@leash/service-budget';
import { Transfer } from '@leash/service-executor';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { generateGateKey, type GatePublicKey, type GateSigningKey } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { withDevSigningKeys } from '../dev-signing-key';
import { LeashUnderTest, TEST_REVIEWERS, testReviewerKey } from '../eval/leash-under-test';
import { forgedTransfer, privateKeysOf, signAs } from './support/forger';

/*
 * Rotating the policy gate's key while work is in flight: the policy
 * service is restarted with a new private key while every checker accepts
 * the old and the new public key; a decision signed with the old key still
 * carries its action through. Once the old key is retired, nothing signed
 * with it verifies: it may be a leaked key.
 */

const TENANT = 'rotation';
const scenario = (id: string) => REFERENCE_SCENARIOS.find((s) => s.id === id)!;
const keyText = (key: GateSigningKey) => `${key.id}:${key.privateKey}`;
const publicText = (key: GatePublicKey, retiredAt?: string) =>
  `${key.id}:${key.publicKey}${retiredAt ? `:${retiredAt}` : ''}`;

describe('the policy key rotated mid-run', () => {
  const old = generateGateKey('policy-2026-11');
  const next = generateGateKey('policy-2026-12');
  let dir: string;
  let system: LeashUnderTest | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-rotation-'));
  });

  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** (Re)starts the system on the same files, with these policy keys. */
  async function restart(signingKey: GateSigningKey, publicKeys: string): Promise<LeashUnderTest> {
    await system?.stop();
    system = await LeashUnderTest.start({
      tenants: [TENANT],
      dir,
      reviewers: false,
      env: { LEASH_POLICY_SIGNING_KEY: keyText(signingKey), LEASH_POLICY_PUBLIC_KEYS: publicKeys },
    });
    return system;
  }

  async function pendingRequest(s: LeashUnderTest, taskId: string) {
    const [pending] = await waitFor(
      async () => {
        const found = await s.store.repository(approvalRequests).find({ where: { taskId } });
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 30_000, description: `the transfer of ${taskId} to wait for reviewers` },
    );
    return pending!.doc;
  }

  it('a task in flight finishes on the old key; after retirement the old key signs nothing that runs', async () => {
    // 1. Only the old key. A transfer is decided, funded and waits for finance.
    let s = await restart(old.signingKey, publicText(old.publicKey));
    const inFlight = await s.submit(scenario('procurement.pay-small-invoice'), {
      tenantId: TENANT,
      taskId: 'rotation-in-flight',
    });
    const waiting = await pendingRequest(s, inFlight);
    expect(waiting.funded.decision.signed.keyId).toBe(old.signingKey.id);

    // 2. The policy service signs with the new key; every checker accepts both.
    s = await restart(
      next.signingKey,
      `${publicText(next.publicKey)},${publicText(old.publicKey)}`,
    );
    const client = new LeashClient({
      bus: s.leash.engines.bus,
      source: 'e2e-reviewer',
      verdictKey: testReviewerKey(TEST_REVIEWERS[0]),
    });
    await client.approve({ ...waiting, tenantId: TENANT, taskId: inFlight }, TEST_REVIEWERS[0]);
    const [paid] = await waitFor(
      async () => {
        const found = await s.store.repository(Transfer).find({ where: { taskId: inFlight } });
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'the transfer decided under the old key to run' },
    );
    expect(paid!.doc).toMatchObject({ invoiceId: 'INV-1003', amountUsd: 310 });
    const finished = await waitFor(
      async () =>
        (await s.store.repository(auditEntries).find({ where: { taskId: inFlight } }))
          .map((e) => e.doc)
          .find((e) => e.type === 'leash.tasks.finished.v1'),
      { timeoutMs: 30_000, description: 'the task in flight to finish' },
    );
    expect(finished.data).toMatchObject({ status: 'succeeded' });
    // New work is signed with the new key.
    const later = await s.submit(scenario('procurement.pay-invoice-declined'), {
      tenantId: TENANT,
      taskId: 'rotation-later',
    });
    expect((await pendingRequest(s, later)).funded.decision.signed.keyId).toBe(next.signingKey.id);

    // 3. The old key is retired. Someone who kept it signs a $9,000 transfer with it.
    const retiredAt = new Date().toISOString();
    s = await restart(
      next.signingKey,
      `${publicText(next.publicKey)},${publicText(old.publicKey, retiredAt)}`,
    );
    const env = withDevSigningKeys({ LEASH_STORE_FILE: join(dir, 'store.db') }).env;
    const [budgetKey] = privateKeysOf(BUDGET_ENV, {
      ...env,
      LEASH_POLICY_PUBLIC_KEYS: publicText(next.publicKey),
    });
    const leaked = forgedTransfer(
      {
        decision: (f, at) => signAs(old.signingKey, old.signingKey.id, f, at),
        // The grant is genuine: only the retired key is in question.
        grant: (f, at) => signAs(budgetKey, budgetKey!.id, f, at),
        approval: (f, at) => signAs(undefined, 'none', f, at),
      },
      { tenantId: TENANT, route: 'allow' },
    );
    await s.leash.engines.bus.publish('actions.funded', leaked.funded);
    await s.leash.engines.bus.publish('actions.decided', leaked.decided);
    const { actionId, taskId } = leaked.identity;
    const refusals = await waitFor(
      async () => {
        const entries = await s.store.repository(auditEntries).find({ where: { taskId } });
        const rejected = entries
          .map((e) => e.doc)
          .filter(
            (e) =>
              e.type === 'leash.actions.rejected.v1' &&
              (e.data as { actionId: string }).actionId === actionId,
          );
        return rejected.length === 2 ? rejected : undefined;
      },
      { timeoutMs: 30_000, description: 'the executor and the budget to refuse the retired key' },
    );
    for (const refusal of refusals) {
      expect(refusal.data).toMatchObject({ code: 'invalid_signature' });
      expect((refusal.data as { reason: string }).reason).toContain(
        `is signed with key "${old.signingKey.id}" of the policy gate, retired at ${retiredAt}`,
      );
    }
    expect(refusals.map((r) => r.source).sort()).toEqual(['budget', 'executor']);
    expect(await s.store.repository(Transfer).find({ where: { taskId } })).toEqual([]);
  });
});
