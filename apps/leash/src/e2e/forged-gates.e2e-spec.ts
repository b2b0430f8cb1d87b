import { join } from 'node:path';
import { auditEntries } from '@leash/audit';
import { loadConfig, type EnvSpec, type Environment } from '@leash/config';
import { createEnvelope, type AnyEnvelope } from '@leash/contracts';
// A test may load the budget service at once; only the CLI loads it lazily, to start fast.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { BUDGET_ENV, BudgetReservation } from '@leash/service-budget';
import { EXECUTOR_ENV, Transfer } from '@leash/service-executor';
import { PLANNER_ENV, REFERENCE_SCENARIOS } from '@leash/service-planner';
import { POLICY_ENV } from '@leash/service-policy';
import { APPROVALS_ENV, approvalRequests, createApprovalQueries } from '@leash/service-approvals';
import { GateVerifier, type GateSigningKey, type SigningGate } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { withDevSigningKeys } from '../dev-signing-key';
import { LeashUnderTest } from '../eval/leash-under-test';
import {
  forgedTransfer,
  privateKeysOf,
  signAs,
  writeIntoBusFile,
  type ForgedTransfer,
} from './support/forger';

/*
 * Each gate signs with its own key and every other process holds only
 * public keys, so no single compromised process can forge another gate.
 * These specs take the keys a process's own configuration gives it and try,
 * and write forgeries straight into the embedded bus file: nothing runs,
 * and every refusal is in the audit log.
 */

const TENANT = 'forgery';

describe('forged gate events, through the whole system', () => {
  let system: LeashUnderTest;
  let env: Environment;
  /** Every gate's public keys, as every checker holds them. */
  let verifier: GateVerifier;
  /** The key id each gate signs with now. */
  let gateKeyIds: Record<SigningGate, string>;

  beforeAll(async () => {
    // Nobody answers on their own: what waits for reviewers keeps waiting.
    system = await LeashUnderTest.start({ tenants: [TENANT], reviewers: false });
    // The launcher's environment, with the keys it generated beside the store.
    env = withDevSigningKeys({
      ...process.env,
      LEASH_BUS_FILE: join(system.dir, 'bus.db'),
      LEASH_STORE_FILE: join(system.dir, 'store.db'),
    }).env;
    const executor = loadConfig(EXECUTOR_ENV, { env });
    verifier = new GateVerifier({
      policy: executor.LEASH_POLICY_PUBLIC_KEYS!,
      budget: executor.LEASH_BUDGET_PUBLIC_KEYS!,
      approvals: executor.LEASH_APPROVALS_PUBLIC_KEYS!,
    });
    gateKeyIds = {
      policy: privateKeysOf(POLICY_ENV, env)[0]!.id,
      budget: privateKeysOf(BUDGET_ENV, env)[0]!.id,
      approvals: privateKeysOf(APPROVALS_ENV, env)[0]!.id,
    };
  });

  afterAll(() => system?.stop());

  /** The audit entries of a task, once `ready` holds for them. */
  async function audited(
    taskId: string,
    ready: (
      entries: { type: string; source: string; actionId?: string; data: unknown }[],
    ) => boolean,
    description: string,
  ) {
    return waitFor(
      async () => {
        const entries = (
          await system.store.repository(auditEntries).find({ where: { taskId } })
        ).map((s) => s.doc);
        return ready(entries) ? entries : undefined;
      },
      { timeoutMs: 30_000, description },
    );
  }

  const rejectedBy = (entries: { type: string; data: unknown }[], actionId: string, gate: string) =>
    entries.find(
      (e) =>
        e.type === 'leash.actions.rejected.v1' &&
        (e.data as { actionId: string; gate: string }).actionId === actionId &&
        (e.data as { gate: string }).gate === gate,
    ) as { data: { code: string; reason: string } } | undefined;

  async function nothingRan(forgeries: readonly ForgedTransfer[]) {
    for (const { identity } of forgeries) {
      expect(
        await system.store.repository(Transfer).find({ where: { taskId: identity.taskId } }),
      ).toEqual([]);
      const entries = await system.store
        .repository(auditEntries)
        .find({ where: { taskId: identity.taskId } });
      expect(entries.filter((e) => e.doc.type === 'leash.actions.completed.v1')).toEqual([]);
      expect(
        await system.store.repository(BudgetReservation).get(`action:${identity.actionId}`),
      ).toBeUndefined();
    }
  }

  it('the executor and the planner hold no private key; each gate holds its own and no other', () => {
    const held = (spec: EnvSpec) => privateKeysOf(spec, env).map((k: GateSigningKey) => k.id);
    expect(held(EXECUTOR_ENV)).toEqual([]);
    expect(held(PLANNER_ENV)).toEqual([]);
    expect(held(POLICY_ENV)).toEqual([gateKeyIds.policy]);
    expect(held(BUDGET_ENV)).toEqual([gateKeyIds.budget]);
    expect(held(APPROVALS_ENV)).toEqual([gateKeyIds.approvals]);
  });

  it.each([
    ['an executor', EXECUTOR_ENV, undefined],
    ['a budget', BUDGET_ENV, 'budget'],
  ] as const)(
    '%s process signs a $9,000 transfer with every key it holds: only its own kind verifies, nothing runs, every refusal is audited',
    async (_, spec, entitled) => {
      const keys: (GateSigningKey | undefined)[] = privateKeysOf(spec, env);
      if (keys.length === 0) keys.push(undefined); // it can only guess
      const forgeries: {
        transfer: ForgedTransfer;
        published: AnyEnvelope[];
        label: 'own' | 'gate';
      }[] = [];
      for (const key of keys) {
        // Under its own key id, and passed off as each gate's current key.
        for (const label of ['own', 'gate'] as const) {
          if (label === 'own' && !key) continue;
          const id = (gate: SigningGate) => (label === 'own' ? key!.id : gateKeyIds[gate]);
          const forgery = {
            decision: (f: Record<string, unknown>, at: Date) => signAs(key, id('policy'), f, at),
            grant: (f: Record<string, unknown>, at: Date) => signAs(key, id('budget'), f, at),
            approval: (f: Record<string, unknown>, at: Date) => signAs(key, id('approvals'), f, at),
          };
          const approve = forgedTransfer(forgery, { tenantId: TENANT, route: 'approve' });
          const allow = forgedTransfer(forgery, { tenantId: TENANT, route: 'allow' });
          forgeries.push({
            transfer: approve,
            published: [approve.decided, approve.authorized],
            label,
          });
          forgeries.push({ transfer: allow, published: [allow.funded], label });
        }
      }

      // Only what this process is itself entitled to sign verifies, under its own key.
      for (const { transfer } of forgeries) {
        const { decision, grant, approval } = transfer.signatures;
        expect(verifier.verify(decision.fields, decision.signed).ok).toBe(false);
        expect(verifier.verify(approval.fields, approval.signed).ok).toBe(false);
        expect(verifier.verify(grant.fields, grant.signed).ok).toBe(
          entitled === 'budget' && grant.signed.keyId === gateKeyIds.budget,
        );
      }

      for (const { published } of forgeries) {
        for (const event of published) {
          const topic =
            event.type === 'leash.actions.decided.v1'
              ? 'actions.decided'
              : event.type === 'leash.actions.funded.v1'
                ? 'actions.funded'
                : 'actions.authorized';
          await system.leash.engines.bus.publish(topic, event as never);
        }
      }

      // Each forgery is refused where it lands, and the refusal is in the audit log.
      for (const { transfer, published, label } of forgeries) {
        const { actionId, taskId } = transfer.identity;
        const gates = published.map((e) =>
          e.type === 'leash.actions.decided.v1' ? 'budget' : 'executor',
        );
        const entries = await audited(
          taskId,
          (all) => gates.every((gate) => rejectedBy(all, actionId, gate)),
          `the refusals of ${actionId} in the audit log`,
        );
        for (const gate of gates) {
          const refusal = rejectedBy(entries, actionId, gate)!;
          expect(refusal.data.code).toBe('invalid_signature');
          expect(refusal.data.reason).toMatch(/policy decision/);
        }
        const executorRefusal = rejectedBy(entries, actionId, 'executor')!.data.reason;
        if (entitled === 'budget' && label === 'own') {
          // The budget's key is known to the executor, and still not a policy key.
          expect(executorRefusal).toContain(
            `the policy decision is signed with key "${gateKeyIds.budget}" of the budget gate; only the policy gate signs it`,
          );
          expect(executorRefusal).not.toMatch(/budget grant/);
        } else {
          expect(executorRefusal).toMatch(
            /policy decision is not a valid signature of the policy gate/,
          );
          // The budget's own grant holds; a guessed one does not.
          expect(/budget grant/.test(executorRefusal)).toBe(entitled !== 'budget');
        }
      }
      await nothingRan(forgeries.map((f) => f.transfer));
    },
  );

  it('events written straight into the bus file, on every action topic, are refused and audited; nothing runs', async () => {
    const busFile = join(system.dir, 'bus.db');
    // A $7,250 transfer waits for two reviewers, its reservation held against the day's cap.
    const pay = REFERENCE_SCENARIOS.find((s) => s.id === 'procurement.pay-large-invoice')!;
    const taskId = await system.submit(pay, { tenantId: TENANT });
    const [pending] = await waitFor(
      async () => {
        const found = await system.store.repository(approvalRequests).find({ where: { taskId } });
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'the transfer to wait for reviewers' },
    );
    const waiting = pending!.doc;
    expect(
      (await system.store.repository(BudgetReservation).get(`action:${waiting.actionId}`))?.doc
        .status,
    ).toBe('reserved');

    const guess = {
      decision: (f: Record<string, unknown>, at: Date) =>
        signAs(undefined, gateKeyIds.policy, f, at),
      grant: (f: Record<string, unknown>, at: Date) => signAs(undefined, gateKeyIds.budget, f, at),
      approval: (f: Record<string, unknown>, at: Date) =>
        signAs(undefined, gateKeyIds.approvals, f, at),
    };
    const approve = forgedTransfer(guess, { tenantId: TENANT, route: 'approve' });
    const allow = forgedTransfer(guess, { tenantId: TENANT, route: 'allow' });
    const live = { tenantId: TENANT, taskId };
    const rejection = (id: string, withSignature: boolean) =>
      createEnvelope(
        'leash.actions.rejected.v1',
        {
          actionId: waiting.actionId,
          agent: waiting.funded.agent,
          tool: waiting.funded.tool,
          gate: 'approvals',
          code: 'edited',
          reason: 'edited by a reviewer',
          ...(withSignature
            ? {
                signed: guess.approval(
                  { kind: 'approval-rejection' },
                  new Date(Date.now() + 60_000),
                ),
              }
            : {}),
        },
        { id, source: 'approvals', ...live },
      );
    const unsigned = rejection(`forged-unsigned-${taskId}`, false);
    const guessed = rejection(`forged-guessed-${taskId}`, true);
    const verdict = createEnvelope(
      'leash.approvals.decided.v1',
      {
        verdict: 'approve',
        approvalId: waiting.approvalId,
        actionHash: waiting.actionHash,
        reviewer: 'mallory@evil.example',
      },
      { source: 'reviewer', ...live },
    );
    for (const event of [
      approve.decided,
      allow.funded,
      approve.authorized,
      unsigned,
      guessed,
      verdict,
    ] as AnyEnvelope[]) {
      writeIntoBusFile(busFile, event);
    }

    // actions.decided: the budget reserves nothing for it. actions.funded / .authorized: the executor refuses.
    for (const [transfer, gates] of [
      [approve, ['budget', 'executor']],
      [allow, ['executor']],
    ] as const) {
      const { actionId } = transfer.identity;
      await audited(
        transfer.identity.taskId,
        (all) =>
          gates.every((gate) => rejectedBy(all, actionId, gate)?.data.code === 'invalid_signature'),
        `the refusals of ${actionId}`,
      );
    }
    // actions.rejected: the budget frees nothing on a rejection the approvals gate did not sign.
    const entries = await audited(
      taskId,
      (all) =>
        [unsigned, guessed].every((forged) =>
          all.some(
            (e) =>
              (e as { entryId?: string }).entryId ===
              `actions.rejected:${forged.id}:refused-by-budget`,
          ),
        ),
      'the refusals of the forged rejections',
    );
    const refusals = entries.filter(
      (e) =>
        e.type === 'leash.actions.rejected.v1' &&
        e.source === 'budget' &&
        (e.data as { actionId: string }).actionId === waiting.actionId,
    );
    expect(refusals.map((e) => (e.data as { reason: string }).reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/carries no signature of the approvals gate/),
        expect.stringMatching(/does not cover this action|not a valid signature/),
      ]),
    );
    // approvals.decided: a verdict by someone who is no reviewer is refused, and recorded.
    const recorded = await waitFor(() => createApprovalQueries(system.store).verdict(verdict.id), {
      timeoutMs: 30_000,
      description: 'the forged verdict to be recorded',
    });
    expect(recorded).toMatchObject({ outcome: 'refused' });

    await nothingRan([approve, allow]);
    expect(await system.store.repository(Transfer).find({ where: { taskId } })).toEqual([]);
    expect((await system.store.repository(approvalRequests).get(pending!.id))?.doc.status).not.toBe(
      'authorized',
    );
  });
});
