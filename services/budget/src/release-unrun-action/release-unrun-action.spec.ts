import { createEnvelope, type Envelope, type RejectionCode } from '@leash/contracts';
import { GateSigner, generateGateKey, rejectionFields } from '@leash/signing';
import {
  BUDGET_KEY,
  actionRequestEvent,
  decidedEvent,
  openHarness,
  roomyCaps,
  taskRequestedEvent,
  testProfile,
  type Harness,
} from '../test/ledger-harness';

describe('ReleaseUnrunActionUseCase', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await openHarness();
    h.profiles.add(
      testProfile(roomyCaps({ tenantDay: { classes: { purchase_order: { amountUsd: 10_000 } } } })),
    );
    await h.useCases.registerTask.execute({ event: taskRequestedEvent({ taskId: 't1' }) });
  });

  afterEach(() => h.close());

  const tallies = (id: string) => h.tallies(id);
  const reservation = (id: string) => h.reservation(id);
  const dayAmount = async () =>
    (await tallies('day:acme:2026-03-01'))?.['tenant.day.class.purchase_order.amount'];

  type Decided = Envelope<'leash.actions.decided.v1'>;

  interface RejectionOptions {
    readonly gate?: 'approvals' | 'executor' | 'budget';
    readonly code?: RejectionCode;
    readonly id?: string;
    /** Who signs: the approvals gate by default; `false` for none. */
    readonly signer?: GateSigner | false;
    /** The code signed over, when it differs from the one sent. */
    readonly signedCode?: RejectionCode;
    /** The arguments signed over, when they differ from the funded ones. */
    readonly signedArguments?: Record<string, unknown>;
  }

  const rejected = (
    decided: Decided,
    options: RejectionOptions = {},
  ): Envelope<'leash.actions.rejected.v1'> => {
    const gate = options.gate ?? 'approvals';
    const code = options.code ?? (gate === 'approvals' ? 'approval_rejected' : 'killed');
    const { actionId, tool } = decided.data;
    const signer = options.signer ?? h.approvals;
    const signed = signer
      ? signer.sign(
          rejectionFields(
            {
              tenantId: 'acme',
              taskId: 't1',
              actionId,
              tool,
              arguments: options.signedArguments ?? decided.data.arguments,
            },
            options.signedCode ?? code,
          ),
          new Date(h.clock.now() + 3_600_000),
        )
      : undefined;
    return createEnvelope(
      'leash.actions.rejected.v1',
      {
        actionId,
        agent: { name: 'procurement', version: 1 },
        tool,
        gate,
        code,
        reason: 'no',
        ...(signed ? { signed } : {}),
      },
      {
        id: options.id ?? `rejected:${actionId}:${gate}`,
        source: gate,
        tenantId: 'acme',
        taskId: 't1',
      },
    );
  };

  async function fund(amountUsd: number): Promise<Decided> {
    const decided = decidedEvent(h.policy, h.clock, { taskId: 't1', amountUsd, route: 'approve' });
    await h.useCases.decideBudgetRequest.execute({ event: actionRequestEvent(decided) });
    return decided;
  }

  it('frees everything an action the approvals gate stopped had reserved, spending nothing', async () => {
    const decided = await fund(9_000);
    const { actionId } = decided.data;
    expect(await dayAmount()).toEqual({ reserved: 9_000_000_000, settled: 0 });

    await expect(h.useCases.releaseUnrunAction.execute({ event: rejected(decided) })).resolves.toBe(
      true,
    );
    const day = await tallies('day:acme:2026-03-01');
    expect(day?.['tenant.day.class.purchase_order.amount']).toEqual({ reserved: 0, settled: 0 });
    expect(day?.['tenant.day.class.purchase_order.count']).toEqual({ reserved: 0, settled: 0 });
    expect((await tallies('task:t1'))?.['task.tool_calls']).toEqual({ reserved: 0, settled: 0 });
    expect((await reservation(`action:${actionId}`))?.status).toBe('released');

    // Released once: a redelivery, or another copy of the rejection, changes nothing.
    await expect(
      h.useCases.releaseUnrunAction.execute({ event: rejected(decided, { id: 'copy' }) }),
    ).resolves.toBe(false);
    // Nor does the deadline sweep charge it any more.
    h.clock.advance(24 * 3_600_000);
    await expect(h.useCases.chargeExpiredReservations.execute()).resolves.toBe(0);
    expect(await dayAmount()).toEqual({ reserved: 0, settled: 0 });
  });

  it("leaves other gates' rejections, and the approvals gate's refusals of what it never asked, to the deadline", async () => {
    const decided = await fund(500);
    for (const gate of ['executor', 'budget'] as const) {
      await expect(
        h.useCases.releaseUnrunAction.execute({ event: rejected(decided, { gate }) }),
      ).resolves.toBe(false);
    }
    // A forged or replayed funded event is refused with these; the genuine action may be on its way.
    for (const code of ['invalid_signature', 'killed'] as const) {
      const event = rejected(decided, { code, id: `refused:${code}` });
      await expect(h.useCases.releaseUnrunAction.execute({ event })).resolves.toBe(false);
    }
    expect((await reservation(`action:${decided.data.actionId}`))?.status).toBe('reserved');
  });

  describe('a rejection forged onto the bus in the name of the approvals gate', () => {
    const stranger = new GateSigner('approvals', generateGateKey('approvals-test').signingKey);
    const budgetKey = new GateSigner('budget', BUDGET_KEY.signingKey);

    it.each<[string, (decided: Decided) => Envelope<'leash.actions.rejected.v1'>, RegExp]>([
      [
        'unsigned, code edited',
        (d) => rejected(d, { code: 'edited', signer: false }),
        /carries no signature of the approvals gate/,
      ],
      [
        'signed with a key of the right id that is not the gate’s',
        (d) => rejected(d, { code: 'edited', signer: stranger }),
        /is not a valid signature of the approvals gate \(bad_signature\)/,
      ],
      [
        'signed over another code (a genuine refusal replayed as a release)',
        (d) => rejected(d, { code: 'edited', signedCode: 'killed' }),
        /does not cover this action as it stands .*\(hash_mismatch\)/,
      ],
      [
        'signed over other arguments',
        (d) => rejected(d, { code: 'approval_expired', signedArguments: { sku: 'bolt' } }),
        /hash_mismatch/,
      ],
    ])('%s: is refused and audited; the reservation and the cap hold', async (_, forge, why) => {
      const decided = await fund(7_250);
      const event = forge(decided);
      await expect(h.useCases.releaseUnrunAction.execute({ event })).resolves.toBe(false);
      expect((await reservation(`action:${decided.data.actionId}`))?.status).toBe('reserved');
      expect(await dayAmount()).toEqual({ reserved: 7_250_000_000, settled: 0 });

      const refusals = (await h.pendingOf('leash.actions.rejected.v1')).filter(
        (e) => e.id === `actions.rejected:${event.id}:refused-by-budget`,
      );
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({
        source: 'budget',
        tenantId: 'acme',
        taskId: 't1',
        data: { actionId: decided.data.actionId, gate: 'budget', code: 'invalid_signature' },
      });
      expect(refusals[0]!.data.reason).toMatch(why);
      expect(refusals[0]!.data.reason).toMatch(/The reservation holds/);

      // The cap still counts the $7,250: a second $7,250 order does not fit under $10,000.
      const second = await fund(7_250);
      const [answer] = (await h.pendingOf('leash.actions.rejected.v1')).filter(
        (e) => e.data.actionId === second.data.actionId,
      );
      expect(answer).toMatchObject({ data: { gate: 'budget', code: 'cap_exceeded' } });
    });

    it('cannot be signed by the budget itself: the gate’s own key is no approvals key', async () => {
      const decided = await fund(7_250);
      // A compromised budget signing its way out needs the approvals key; GateSigner refuses even to try.
      expect(() =>
        budgetKey.sign(
          rejectionFields({ ...decided.data, tenantId: 'acme', taskId: 't1' }, 'edited'),
          new Date(h.clock.now() + 60_000),
        ),
      ).toThrow(/the budget gate cannot sign approval-rejection/);
    });
  });
});
