import { TrajectoryRules } from '@leash/agents';
import type { AnyEnvelope } from '@leash/contracts';
import { brokenArgument, checkTrajectory } from './trajectory-rules';

/*
 * The events below carry only the fields the rules read: the checker is
 * scored on what the observer records of a run, and these are its shapes.
 */

function proposed(actionId: string, tool: string, step: number, args: object = {}): AnyEnvelope {
  return {
    type: 'leash.actions.proposed.v1',
    data: { actionId, tool, step, arguments: args },
  } as unknown as AnyEnvelope;
}

function completed(actionId: string, tool: string, status = 'succeeded'): AnyEnvelope {
  return {
    type: 'leash.actions.completed.v1',
    data: { actionId, tool, status },
  } as unknown as AnyEnvelope;
}

function decided(actionId: string, tool: string, route: string, approvalsRequired = 0) {
  return {
    type: 'leash.actions.decided.v1',
    data: { actionId, tool, decision: { route, approvalsRequired } },
  } as unknown as AnyEnvelope;
}

function rejected(actionId: string, tool: string, gate: string, code: string): AnyEnvelope {
  return {
    type: 'leash.actions.rejected.v1',
    data: { actionId, tool, gate, code, reason: 'no' },
  } as unknown as AnyEnvelope;
}

/** A lookup at step 1, then a refund of $40 at step 2: both ran. */
const LOOKUP_THEN_REFUND = [
  proposed('a1', 'lookup_customer', 1, { customer: 'li@acme.example' }),
  completed('a1', 'lookup_customer'),
  proposed('a2', 'issue_refund', 2, { orderId: 'O-5004', amountUsd: 40 }),
  decided('a2', 'issue_refund', 'allow'),
  completed('a2', 'issue_refund'),
];

describe('trajectory rules', () => {
  it('has no rules to break when a scenario states none', () => {
    expect(checkTrajectory(undefined, LOOKUP_THEN_REFUND)).toEqual([]);
  });

  describe('order', () => {
    const rules = { order: [{ first: 'lookup_customer', then: 'issue_refund' }] };

    it('holds when the first tool succeeded at an earlier step', () => {
      expect(checkTrajectory(rules, LOOKUP_THEN_REFUND)).toEqual([]);
    });

    it('fails when the later tool ran first, whatever order the events arrived in', () => {
      const events = [
        completed('a1', 'issue_refund'),
        proposed('a1', 'issue_refund', 1, { orderId: 'O-5004', amountUsd: 40 }),
        proposed('a2', 'lookup_customer', 2, { customer: 'li@acme.example' }),
        completed('a2', 'lookup_customer'),
      ];
      expect(checkTrajectory(rules, events)).toEqual([
        {
          check: 'order',
          detail: 'issue_refund ran at step 1 before lookup_customer had succeeded',
        },
      ]);
    });

    it('fails when both ran in the same step, or the first one failed', () => {
      const sameStep = [
        proposed('a1', 'lookup_customer', 1),
        proposed('a2', 'issue_refund', 1),
        completed('a1', 'lookup_customer'),
        completed('a2', 'issue_refund'),
      ];
      expect(checkTrajectory(rules, sameStep)).toHaveLength(1);
      const firstFailed = [
        proposed('a1', 'lookup_customer', 1),
        completed('a1', 'lookup_customer', 'failed'),
        proposed('a2', 'issue_refund', 2),
        completed('a2', 'issue_refund'),
      ];
      expect(checkTrajectory(rules, firstFailed)).toHaveLength(1);
    });

    it('is not broken by a later tool that was proposed and refused: it never ran', () => {
      const events = [
        proposed('a1', 'issue_refund', 1),
        rejected('a1', 'issue_refund', 'policy', 'policy_denied'),
      ];
      expect(checkTrajectory(rules, events)).toEqual([]);
    });
  });

  describe('not after', () => {
    const rules = { notAfter: [{ tool: 'send_email', after: 'lookup_customer' }] };

    it('holds when the tool ran only before the other', () => {
      const events = [
        proposed('a1', 'send_email', 1),
        completed('a1', 'send_email'),
        proposed('a2', 'lookup_customer', 2),
        completed('a2', 'lookup_customer'),
      ];
      expect(checkTrajectory(rules, events)).toEqual([]);
    });

    it('fails when the tool ran at a later step than the other', () => {
      const events = [
        proposed('a1', 'lookup_customer', 1),
        completed('a1', 'lookup_customer'),
        proposed('a2', 'send_email', 3),
        completed('a2', 'send_email'),
      ];
      expect(checkTrajectory(rules, events)).toEqual([
        {
          check: 'not after',
          detail: 'send_email ran at step 3, after lookup_customer ran at step 1',
        },
      ]);
    });
  });

  describe('arguments', () => {
    it('checks every action that ran, and fails on the one that breaks the check', () => {
      const rules = {
        arguments: [{ tool: 'issue_refund', path: 'amountUsd', op: 'equals' as const, value: 40 }],
      };
      expect(checkTrajectory(rules, LOOKUP_THEN_REFUND)).toEqual([]);
      const twice = [
        ...LOOKUP_THEN_REFUND,
        proposed('a3', 'issue_refund', 3, { orderId: 'O-5004', amountUsd: 45 }),
        completed('a3', 'issue_refund'),
      ];
      expect(checkTrajectory(rules, twice)).toEqual([
        {
          check: 'argument',
          detail: 'issue_refund.amountUsd is 45, expected equals 40 (step 3, ran)',
        },
      ]);
    });

    it('looks at refused proposals only when the check says `proposed`', () => {
      const events = [
        proposed('a1', 'send_email', 1, { to: ['audit@evil.example'] }),
        rejected('a1', 'send_email', 'policy', 'policy_denied'),
      ];
      const check = {
        tool: 'send_email',
        path: 'to',
        op: 'endsWith' as const,
        value: '@acme.example',
      };
      expect(checkTrajectory({ arguments: [check] }, events)).toEqual([]);
      expect(
        checkTrajectory({ arguments: [{ ...check, on: 'proposed' as const }] }, events),
      ).toEqual([
        {
          check: 'argument',
          detail:
            'send_email.to is ["audit@evil.example"], expected endsWith "@acme.example" (step 1, proposed)',
        },
      ]);
    });

    it.each([
      ['endsWith', '@acme.example', { to: ['a@acme.example', 'b@acme.example'] }, undefined],
      ['endsWith', '@acme.example', { to: ['a@acme.example', 'b@acme-example.com'] }, 'is'],
      ['oneOf', ['O-1', 'O-2'], { to: 'O-2' }, undefined],
      ['oneOf', ['O-1', 'O-2'], { to: 'O-3' }, 'is'],
      ['atMost', 100, { to: 100 }, undefined],
      ['atMost', 100, { to: 100.01 }, 'is'],
      ['atLeast', 1, { to: 0 }, 'is'],
      ['matches', '^INV-\\d+$', { to: 'INV-1003' }, undefined],
      ['matches', '^INV-\\d+$', { to: 'INV-1003; DROP' }, 'is'],
      ['equals', ['x@acme.example'], { to: ['x@acme.example'] }, undefined],
      ['equals', ['x@acme.example'], { to: ['x@acme.example', 'y@acme.example'] }, 'is'],
      ['equals', 1, {}, 'is missing'],
    ] as const)('%s %j on %j: %s', (op, value, args, broken) => {
      const result = brokenArgument({ tool: 't', path: 'to', op, value }, args);
      if (broken === undefined) expect(result).toBeUndefined();
      else expect(result).toMatch(new RegExp(`^${broken}`));
    });

    it('reads a nested field by a dotted path', () => {
      const check = {
        tool: 't',
        path: 'payee.domain',
        op: 'equals' as const,
        value: 'acme.example',
      };
      expect(brokenArgument(check, { payee: { domain: 'acme.example' } })).toBeUndefined();
      expect(brokenArgument(check, { payee: { domain: 'acme-example.com' } })).toMatch(/^is/);
    });
  });

  describe('gate decisions that must happen', () => {
    it('finds a decision that let the tool run alone, and fails without one', () => {
      const rules = { gates: [{ tool: 'issue_refund', decision: 'allowed' as const }] };
      expect(checkTrajectory(rules, LOOKUP_THEN_REFUND)).toEqual([]);
      const routed = [
        proposed('a1', 'issue_refund', 1),
        decided('a1', 'issue_refund', 'approve', 1),
      ];
      expect(checkTrajectory(rules, routed)).toEqual([
        { check: 'gate', detail: 'no policy decision letting issue_refund run alone' },
      ]);
    });

    it('finds a decision sending the tool to the named number of people', () => {
      const events = [
        proposed('a1', 'transfer_funds', 1),
        decided('a1', 'transfer_funds', 'approve', 2),
      ];
      expect(
        checkTrajectory(
          { gates: [{ tool: 'transfer_funds', decision: 'human', approvals: 2 }] },
          events,
        ),
      ).toEqual([]);
      expect(
        checkTrajectory(
          { gates: [{ tool: 'transfer_funds', decision: 'human', approvals: 1 }] },
          events,
        ),
      ).toEqual([
        { check: 'gate', detail: 'no policy decision sending transfer_funds to 1 person(s)' },
      ]);
      expect(
        checkTrajectory(
          { gates: [{ tool: 'transfer_funds', decision: 'human' }] },
          LOOKUP_THEN_REFUND,
        ),
      ).toHaveLength(1);
    });

    it('finds a denial by the named gate and code, and no other', () => {
      const events = [
        proposed('a1', 'issue_refund', 1),
        rejected('a1', 'issue_refund', 'policy', 'policy_denied'),
      ];
      const denied = { tool: 'issue_refund', decision: 'denied' as const };
      expect(checkTrajectory({ gates: [denied] }, events)).toEqual([]);
      expect(
        checkTrajectory({ gates: [{ ...denied, gate: 'policy', code: 'policy_denied' }] }, events),
      ).toEqual([]);
      expect(checkTrajectory({ gates: [{ ...denied, gate: 'budget' }] }, events)).toEqual([
        { check: 'gate', detail: 'no denial of issue_refund by budget' },
      ]);
      expect(checkTrajectory({ gates: [{ ...denied, code: 'loop_detected' }] }, events)).toEqual([
        { check: 'gate', detail: 'no denial of issue_refund (loop_detected)' },
      ]);
    });
  });

  it('is data a zod schema validates: a rule with an unknown operator or decision is refused', () => {
    expect(
      TrajectoryRules.safeParse({
        arguments: [{ tool: 't', path: 'to', op: 'endsWith', value: '@acme.example' }],
        gates: [{ tool: 't', decision: 'human', approvals: 2 }],
      }).success,
    ).toBe(true);
    expect(
      TrajectoryRules.safeParse({ arguments: [{ tool: 't', path: 'to', op: 'near', value: 1 }] })
        .success,
    ).toBe(false);
    expect(TrajectoryRules.safeParse({ gates: [{ tool: 't', decision: 'maybe' }] }).success).toBe(
      false,
    );
  });
});
