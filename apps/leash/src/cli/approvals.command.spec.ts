import {
  formatPending,
  runApprovalsDecide,
  runApprovalsList,
  usd,
  VERDICT_WAIT_MS,
  type ApprovalsDesk,
  type PendingApprovalView,
} from './approvals.command';
import { generateVerdictKeyPair, verdictSigningKey } from '@leash/signing';
import { KeyFileError } from './reviewer-keys';
import { recordingTerminal } from './testing/recording-terminal';

const KEY = verdictSigningKey(generateVerdictKeyPair().privateKeyPem);
const readKey = () => KEY;

const request: PendingApprovalView = {
  approvalId: 'apv-1',
  actionHash: 'a'.repeat(64),
  tenantId: 'acme',
  taskId: 'task-9',
  agent: { name: 'support', version: 3 },
  tool: 'issue_refund',
  arguments: { orderId: "o'42", amountUsd: 120 },
  reason: 'the customer was charged twice',
  riskClass: 'write',
  policy: {
    policyId: 'support',
    version: 4,
    determiningPolicies: ['refund-above-100-needs-lead'],
    reason: 'needs a human: "refund-above-100-needs-lead" (refunds over $100 need a lead)',
    taintedArgs: [],
  },
  reservedUsdMicros: 1_250_000,
  reviewerGroup: 'support-leads',
  reviewersRequired: 2,
  approvedBy: ['bo'],
  expiresAt: '2026-01-01T00:10:00.000Z',
};

function desk(pending: PendingApprovalView[], outcome?: { accepted: boolean; reason: string }) {
  const decide = jest.fn().mockResolvedValue('event-1');
  const listPending = jest.fn().mockResolvedValue(pending);
  const lookup = jest.fn(
    async (id: string) =>
      pending.find((p) => p.approvalId === id) ?? { refusal: `no approval request ${id}` },
  );
  const outcomeOf = jest.fn().mockResolvedValue(outcome);
  const checkArguments = jest.fn(
    async (_request: PendingApprovalView, args: Record<string, unknown>) =>
      typeof args['amountUsd'] === 'number' ? undefined : 'amountUsd: expected number',
  );
  return {
    desk: {
      listPending,
      lookup,
      decide,
      outcome: outcomeOf,
      checkArguments,
    } satisfies ApprovalsDesk,
    checkArguments,
    decide,
    lookup,
    listPending,
    outcomeOf,
  };
}

describe('leash approvals', () => {
  const now = new Date('2026-01-01T00:00:48.000Z');

  it('shows what a reviewer needs, and the commands that answer', () => {
    expect(formatPending(request, now)).toEqual([
      'apv-1  expires 2026-01-01T00:10:00.000Z (in 9m 12s)',
      '  agent      support v3, task task-9 (tenant acme)',
      '  tool       issue_refund  risk write  cost $1.25 reserved',
      '  arguments  {"orderId":"o\'42","amountUsd":120}',
      '  policy     support v4, rule refund-above-100-needs-lead',
      '  why human  needs a human: "refund-above-100-needs-lead" (refunds over $100 need a lead)',
      '  planner    the customer was charged twice',
      '  reviewers  1/2 of group support-leads (approved: bo)',
      '  answer     leash approvals approve apv-1 --reviewer <you>',
      '             leash approvals reject apv-1 --reviewer <you> --feedback "..."',
      `             leash approvals edit apv-1 --reviewer <you> --args '{"orderId":"o'\\''42","amountUsd":120}'`,
    ]);
  });

  it("flags the arguments the policy gate found in untrusted text, before the policy's reason", () => {
    const tainted = { ...request, policy: { ...request.policy, taintedArgs: ['orderId'] } };
    const lines = formatPending(tainted, now);
    expect(lines[4]).toBe(
      "  TAINTED    orderId: copied from untrusted text (a customer's message, a web page, a tool's output); check them before you approve",
    );
    expect(lines[5]).toMatch(/^ {2}policy /);
    expect(formatPending(request, now).some((line) => line.includes('TAINTED'))).toBe(false);
  });

  it('prints money in dollars with the precision of small costs', () => {
    expect(usd(0)).toBe('$0.00');
    expect(usd(1_250_000)).toBe('$1.25');
    expect(usd(1_234)).toBe('$0.001234');
  });

  it('lists with the filters given, or says there is nothing', async () => {
    const { t, out } = recordingTerminal();
    const empty = desk([]);
    await expect(
      runApprovalsList(empty.desk, { kind: 'approvals-list', tenantId: 'acme' }, t, now),
    ).resolves.toBe(0);
    expect(empty.listPending).toHaveBeenCalledWith({ tenantId: 'acme' });
    expect(out).toEqual(['no pending approvals']);

    const one = recordingTerminal();
    await runApprovalsList(desk([request]).desk, { kind: 'approvals-list' }, one.t, now);
    expect(one.out[0]).toBe('1 pending approval, soonest expiry first');
    expect(one.out).toContain('apv-1  expires 2026-01-01T00:10:00.000Z (in 9m 12s)');
  });

  it('publishes a verdict bound to the pending request, and reports it accepted', async () => {
    const { t, out } = recordingTerminal();
    const d = desk([request], { accepted: true, reason: 'approved by cy (2 of 2)' });
    const code = await runApprovalsDecide(
      d.desk,
      {
        kind: 'approvals-decide',
        verdict: 'edit',
        approvalId: 'apv-1',
        reviewer: 'cy',
        arguments: { amountUsd: 60 },
      },
      t,
      readKey,
    );
    expect(code).toBe(0);
    // The given fields are merged into the proposed arguments: what is signed is the whole call.
    expect(d.decide).toHaveBeenCalledWith(
      request,
      'cy',
      { verdict: 'edit', arguments: { orderId: "o'42", amountUsd: 60 } },
      KEY,
    );
    expect(d.checkArguments).toHaveBeenCalledWith(request, { orderId: "o'42", amountUsd: 60 });
    expect(d.outcomeOf).toHaveBeenCalledWith('event-1', VERDICT_WAIT_MS);
    expect(out[0]).toContain('edit of apv-1 by cy published (event event-1');
    expect(out[0]).toContain(`signed with key ${KEY.keyId}`);
    expect(out[1]).toBe('accepted: approved by cy (2 of 2)');
  });

  it('refuses an edit whose merged arguments break the tool schema: exit 2, nothing published', async () => {
    const { t, out, err } = recordingTerminal();
    const d = desk([request], { accepted: true, reason: 'edited' });
    const code = await runApprovalsDecide(
      d.desk,
      {
        kind: 'approvals-decide',
        verdict: 'edit',
        approvalId: 'apv-1',
        reviewer: 'cy',
        arguments: { amountUsd: 'lots' },
      },
      t,
      readKey,
    );
    expect(code).toBe(2);
    expect(d.decide).not.toHaveBeenCalled();
    expect(out).toEqual([]);
    expect(err).toEqual([
      "leash approvals edit: the edited arguments do not match issue_refund's parameters: " +
        'amountUsd: expected number; nothing was published',
    ]);
  });

  it('exits 1 with the reason when the service refuses the verdict, or never records it', async () => {
    const refused = recordingTerminal();
    const d = desk([request], { accepted: false, reason: 'cy is not in reviewer group x' });
    const verdict = {
      kind: 'approvals-decide' as const,
      verdict: 'approve' as const,
      approvalId: 'apv-1',
      reviewer: 'cy',
    };
    await expect(runApprovalsDecide(d.desk, verdict, refused.t, readKey)).resolves.toBe(1);
    expect(refused.err).toEqual([
      'leash approvals approve: refused: cy is not in reviewer group x',
    ]);

    const silent = recordingTerminal();
    await expect(
      runApprovalsDecide(desk([request]).desk, verdict, silent.t, readKey),
    ).resolves.toBe(1);
    expect(silent.err[0]).toContain('has not recorded the verdict');
  });

  it('refuses an id that is not pending, and publishes nothing', async () => {
    const { t, err } = recordingTerminal();
    const d = desk([request]);
    const code = await runApprovalsDecide(
      d.desk,
      {
        kind: 'approvals-decide',
        verdict: 'reject',
        approvalId: 'apv-404',
        reviewer: 'cy',
        feedback: 'no',
      },
      t,
      readKey,
    );
    expect(code).toBe(1);
    expect(d.decide).not.toHaveBeenCalled();
    expect(err).toEqual([
      'leash approvals reject: no approval request apv-404; see leash approvals list',
    ]);
  });

  it('stops before publishing when the key file is missing, naming the file and keygen', async () => {
    const { t, err } = recordingTerminal();
    const d = desk([request]);
    const code = await runApprovalsDecide(
      d.desk,
      { kind: 'approvals-decide', verdict: 'approve', approvalId: 'apv-1', reviewer: 'cy' },
      t,
      () => {
        throw new KeyFileError('no key file for reviewer cy at /keys/cy.key: make one with ...');
      },
    );
    expect(code).toBe(1);
    expect(d.decide).not.toHaveBeenCalled();
    expect(err).toHaveLength(1);
    expect(err).toEqual([
      'leash approvals approve: no key file for reviewer cy at /keys/cy.key: make one with ...',
    ]);
  });
});

describe('leash approvals list with escape sequences in the request', () => {
  const now = new Date('2026-01-01T00:00:48.000Z');
  // Hides the amount (erase line, cursor up), retitles the terminal (OSC), rings (BEL), reorders (bidi).
  const hostile: PendingApprovalView = {
    ...request,
    arguments: { orderId: 'o-1\u001b[8m', amountUsd: 900, note: '\u202e0001$' },
    reason: 'small refund\u001b[2K\u001b[1A\u001b]0;leash: nothing pending\u0007\u0007\u009b2K',
  };

  it('shows them visibly, and the edit command still carries the same arguments', async () => {
    const { t, out } = recordingTerminal();
    await runApprovalsList(desk([hostile]).desk, { kind: 'approvals-list' }, t, now);
    for (const line of out) {
      expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    }
    expect(out).toContain(
      '  planner    small refund\\x1b[2K\\x1b[1A\\x1b]0;leash: nothing pending\\x07\\x07\\x9b2K',
    );
    expect(out).toContain(
      '  arguments  {"orderId":"o-1\\u001b[8m","amountUsd":900,"note":"\\u202e0001$"}',
    );
    const edit = out.find((line) => line.includes('approvals edit'))!;
    expect(JSON.parse(edit.slice(edit.indexOf("'") + 1, edit.lastIndexOf("'")))).toEqual(
      hostile.arguments,
    );
  });

  it('shows a refusal or acceptance reason visibly too', async () => {
    const { t, out, err } = recordingTerminal();
    const d = desk([request], { accepted: true, reason: 'ok\u001b]0;x\u0007\nFAKE' });
    await runApprovalsDecide(
      d.desk,
      { kind: 'approvals-decide', verdict: 'approve', approvalId: 'apv-1', reviewer: 'cy' },
      t,
      readKey,
    );
    expect(err).toEqual([]);
    expect(out[1]).toBe('accepted: ok\\x1b]0;x\\x07\\x0aFAKE');
  });
});
