import {
  IT_HELPDESK_AGENT,
  PROCUREMENT_AGENT,
  REFERENCE_TOOLS,
  SUPPORT_AGENT,
  type PolicyVersion,
  type ReferenceAgent,
  type ToolDefinition,
} from '@leash/agents';
import { canonicalArguments } from './identity-arguments';
import { PolicyEvaluator, type Evaluation, type EvaluationRequest } from './policy-evaluator';

const evaluator = new PolicyEvaluator();

function referencePolicy(agent: ReferenceAgent): PolicyVersion {
  return {
    policyId: agent.policy.policyId,
    version: 1,
    cedar: agent.policy.cedar,
    description: agent.policy.description,
    author: 'spec',
    createdAt: '2026-01-01T00:00:00Z',
  };
}

let customVersion = 0;
function custom(cedar: string): PolicyVersion {
  customVersion += 1;
  return {
    policyId: 'identities',
    version: customVersion,
    cedar,
    description: '',
    author: 'spec',
    createdAt: '2026-01-01T00:00:00Z',
  };
}

function request(tool: string, args: Record<string, unknown>): EvaluationRequest {
  return {
    agent: { name: 'spec', version: 1, tenantId: 'acme' },
    tool: REFERENCE_TOOLS.tool(tool) as ToolDefinition,
    arguments: args,
    tainted: [],
    step: 1,
    priorCalls: { total: 0, tool: 0, sameArguments: 0 },
  };
}

/** What a decision is made of, for comparing two evaluations. */
function outcome(evaluation: Evaluation): Record<string, unknown> {
  return evaluation.permitted
    ? {
        permitted: true,
        route: evaluation.route,
        approvalsRequired: evaluation.approvalsRequired,
        reviewerGroup: evaluation.reviewerGroup,
        determiningPolicies: [...evaluation.determiningPolicies].sort(),
      }
    : { permitted: false, determiningPolicies: [...evaluation.determiningPolicies].sort() };
}

const FULLWIDTH_OFFSET = 0xff01 - 0x21;
/** `ceo` as `ｃｅｏ`: what NFKC folds back. */
const fullwidth = (text: string) =>
  text.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + FULLWIDTH_OFFSET));

const EMAIL_VARIANTS: readonly [string, (email: string) => string][] = [
  ['upper case', (e) => e.toUpperCase()],
  ['mixed case', (e) => e.replace(/^./, (c) => c.toUpperCase()).replace(/\.example/, '.EXample')],
  ['a trailing dot', (e) => `${e}.`],
  ['fullwidth letters', (e) => fullwidth(e)],
  ['a fullwidth @ and ideographic dot', (e) => e.replace('@', '\uff20').replace('.', '\u3002')],
];

describe('identities reach the policy in one canonical form', () => {
  const helpdesk = referencePolicy(IT_HELPDESK_AGENT);
  const support = referencePolicy(SUPPORT_AGENT);
  const procurement = referencePolicy(PROCUREMENT_AGENT);

  describe('it-helpdesk: reset-password-executive', () => {
    const reset = (userEmail: string) =>
      evaluator.evaluate(helpdesk, request('reset_password', { userEmail, reason: 'locked out' }));

    it('sends the lower-case executive to two IT reviewers, as written', () => {
      expect(reset('ceo@acme.example')).toMatchObject({
        permitted: true,
        route: 'approve',
        approvalsRequired: 2,
        reviewerGroup: 'it-service-desk',
      });
    });

    it.each(EMAIL_VARIANTS)('treats the executive with %s the same', (_name, variant) => {
      for (const executive of ['ceo@acme.example', 'cfo@acme.example']) {
        expect(outcome(reset(variant(executive)))).toEqual(outcome(reset(executive)));
        expect(reset(variant(executive))).toMatchObject({
          approvalsRequired: 2,
          reviewerGroup: 'it-service-desk',
        });
      }
    });

    it('leaves a non-executive with one reviewer of the chain', () => {
      const result = reset('CEO.assistant@acme.example');
      expect(result).toMatchObject({ permitted: true, approvalsRequired: 1 });
      expect((result as { reviewerGroup?: string }).reviewerGroup).toBeUndefined();
    });

    it('fails closed on an identity that has no canonical form', () => {
      const result = reset('ceo@acme..example');
      expect(result).toMatchObject({ permitted: false, determiningPolicies: [] });
      expect(result.reason).toContain('userEmail "ceo@acme..example" is not a valid email');
    });
  });

  describe('it-helpdesk: every other rule', () => {
    it.each([
      ['open_ticket', { requester: 'ann@acme.example', subject: 'vpn', description: 'down' }],
      [
        'install_software',
        { package: 'slack', deviceId: 'LAPTOP-7', requester: 'ann@acme.example' },
      ],
      [
        'install_software',
        { package: 'winrar', deviceId: 'LAPTOP-7', requester: 'ann@acme.example' },
      ],
      [
        'uninstall_software',
        { package: 'zoom', deviceId: 'LAPTOP-7', requester: 'ann@acme.example' },
      ],
    ] as const)('decides %s the same for every variant of its identities', (tool, args) => {
      const base = outcome(evaluator.evaluate(helpdesk, request(tool, args)));
      for (const [, variant] of EMAIL_VARIANTS) {
        const changed = {
          ...args,
          requester: variant(args.requester),
          ...('deviceId' in args ? { deviceId: fullwidth(args.deviceId.toLowerCase()) } : {}),
        };
        expect(outcome(evaluator.evaluate(helpdesk, request(tool, changed)))).toEqual(base);
      }
    });
  });

  describe('support: email-domain-allowlist', () => {
    const mail = (to: string[], cc: string[] = []) =>
      request('send_email', { to, cc, subject: 'your order', body: 'shipped' });

    it.each(EMAIL_VARIANTS)(
      'lets a recipient of an allowed domain with %s through',
      (_n, variant) => {
        for (const tool of ['send_email', 'draft_email']) {
          const args = { to: [variant('jo@example.com')], cc: [variant('al@acme.example')] };
          const result = evaluator.evaluate(support, {
            ...mail(args.to, args.cc),
            tool: REFERENCE_TOOLS.tool(tool) as ToolDefinition,
          });
          expect(result).toMatchObject({ permitted: true });
        }
      },
    );

    it('still refuses a domain that only looks allowed', () => {
      for (const to of [
        'jo@example.com.evil.example',
        'jo@EXAMPLE.COM@evil.example',
        'jo@exampIe.com',
        // Before canonical forms these named no domain at all, and an empty list passed the allowlist.
        fullwidth('jo@evil.example'),
        'jo\uff20evil.example',
      ]) {
        expect(evaluator.evaluate(support, mail([to]))).toMatchObject({
          permitted: false,
          determiningPolicies: ['email-domain-allowlist'],
        });
      }
    });

    it.each([
      ['lookup_customer', { customer: 'C-1042' }],
      ['issue_refund', { orderId: 'O-1', amountUsd: 250, reason: 'late', note: '' }],
      ['escalate_to_human', { summary: 'wants a person', urgency: 'normal' }],
    ] as const)('decides %s as before', (tool, args) => {
      const upper = 'customer' in args ? { customer: 'c-1042' } : args;
      expect(outcome(evaluator.evaluate(support, request(tool, upper)))).toEqual(
        outcome(evaluator.evaluate(support, request(tool, args))),
      );
    });
  });

  describe('procurement: every rule', () => {
    it.each([
      ['place_purchase_order', 9_000],
      ['place_purchase_order', 12_000],
      ['transfer_funds', 4_000],
      ['transfer_funds', 6_000],
    ] as const)(
      'decides %s of $%d the same for every form of the supplier id',
      (tool, amountUsd) => {
        const args = (supplierId: string) =>
          tool === 'transfer_funds'
            ? { supplierId, invoiceId: 'INV-1', amountUsd, memo: '' }
            : {
                supplierId,
                sku: 'PAPER-A4',
                quantity: 1,
                unitPriceUsd: amountUsd,
                amountUsd,
                justification: 'below reorder point',
              };
        const base = outcome(evaluator.evaluate(procurement, request(tool, args('sup-17'))));
        for (const variant of ['SUP-17', 'Sup-17', fullwidth('SUP-17'), ' sup-17 ']) {
          expect(outcome(evaluator.evaluate(procurement, request(tool, args(variant))))).toEqual(
            base,
          );
        }
      },
    );
  });

  it('compares a domain in its ASCII form: Unicode and punycode are one domain', () => {
    const set = custom(`
      @id("mail") permit (principal, action == Action::"send_email", resource);
      @id("books-only") forbid (principal, action == Action::"send_email", resource)
      unless { ["xn--bcher-kva.example"].containsAll(context.recipientDomains) };
      @id("blocked-supplier") forbid (principal, action == Action::"transfer_funds", resource)
      when { context.args.supplierId == "sup-blocked" };
      @id("pay") permit (principal, action == Action::"transfer_funds", resource);`);
    for (const to of [
      'info@bücher.example',
      'info@BÜCHER.example',
      'info@xn--bcher-kva.example.',
    ]) {
      expect(
        evaluator.evaluate(
          set,
          request('send_email', { to: [to], cc: [], subject: 's', body: 'b' }),
        ),
      ).toMatchObject({ permitted: true });
    }
    for (const supplierId of ['SUP-BLOCKED', fullwidth('sup-blocked'), 'Sup-Blocked']) {
      expect(
        evaluator.evaluate(
          set,
          request('transfer_funds', { supplierId, invoiceId: 'I', amountUsd: 1, memo: '' }),
        ),
      ).toMatchObject({ permitted: false, determiningPolicies: ['blocked-supplier'] });
    }
  });

  it('changes what the policy reads, never the arguments themselves', () => {
    const args = { userEmail: 'CEO@ACME.EXAMPLE.', reason: 'locked out' };
    const canonical = canonicalArguments(REFERENCE_TOOLS.tool('reset_password')!, args);
    expect(canonical).toEqual({
      ok: true,
      args: { userEmail: 'ceo@acme.example', reason: 'locked out' },
    });
    expect(args.userEmail).toBe('CEO@ACME.EXAMPLE.');
  });
});
