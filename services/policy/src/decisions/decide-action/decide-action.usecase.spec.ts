import { SUPPORT_PROFILE, IT_HELPDESK_PROFILE } from '@leash/agents';
import type { Envelope, KillScope, KillV1 } from '@leash/contracts';
import { KillSwitch, type KillTarget } from '@leash/kill-switch';
import { decisionFields, decisionFieldsOf } from '@leash/signing';
import {
  openPolicyHarness,
  proposal,
  policyVerifier,
  T0,
  decideSeen,
  type PolicyHarness,
} from '../test/policy-harness';
import type { DecisionOutcome } from './decide-action.usecase';

describe('DecideActionUseCase', () => {
  let h: PolicyHarness;

  beforeEach(async () => {
    h = await openPolicyHarness();
  });

  afterEach(async () => {
    await h.close();
  });

  /** Decides a proposal of a task whose input the gate has seen (an unseen one waits: see the taint specs). */
  const decide = (event: Envelope<'leash.actions.proposed.v1'>): Promise<DecisionOutcome> =>
    decideSeen(h.gate, event, { traceparent: '00-abc-def-01', other: 'x' });

  /** A proposal of the it-helpdesk agent. */
  const helpdesk = (tool: string, args: Record<string, unknown>) =>
    proposal({ agent: { name: 'it-helpdesk', version: 1 }, tool, arguments: args });

  function decided(outcome: DecisionOutcome) {
    if (outcome.kind !== 'decided')
      throw new Error(`expected a decision, got ${JSON.stringify(outcome)}`);
    return outcome.event;
  }

  function rejected(outcome: DecisionOutcome) {
    if (outcome.kind !== 'rejected')
      throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
    return outcome.event;
  }

  describe('allow', () => {
    it('allows a permitted read, signs it and names the versions that decided', async () => {
      const event = decided(
        await decide(proposal({ tool: 'lookup_customer', arguments: { customer: 'C-1' } })),
      );
      expect(event.data.decision).toMatchObject({
        route: 'allow',
        approvalsRequired: 0,
        policyId: 'support',
        policyVersion: 1,
        determiningPolicies: ['lookup-customer'],
        irreversibleLifted: false,
      });
      expect(event.data.versions).toMatchObject({
        profile: 1,
        policy: 1,
        model: 'gpt-4o-mini',
        prompt: 'support@1',
      });
      expect(event.data.versions.tools).toMatch(/^[0-9a-f]{12}$/);
      expect(event.data.decision.signed.expiresAt).toBe(new Date(T0 + 15 * 60_000).toISOString());
      expect(event).toMatchObject({ tenantId: 'acme', taskId: 'task-1', source: 'policy' });
    });

    it('names the model the planner called (scripted, or LEASH_MODEL_NAME), not the profile’s', async () => {
      const event = decided(
        await decide(
          proposal({
            tool: 'lookup_customer',
            arguments: { customer: 'C-1' },
            versions: { prompt: 'support@1', model: 'scripted' },
          }),
        ),
      );
      expect(event.data.versions).toMatchObject({ profile: 1, model: 'scripted' });
    });

    it('signs exactly these arguments: the signature verifies, and fails when an argument changes', async () => {
      const event = decided(
        await decide(
          proposal({
            tool: 'issue_refund',
            arguments: { orderId: 'O-1', amountUsd: 40, reason: 'damaged' },
          }),
        ),
      );
      const { data } = event;
      // The parsed arguments, defaults filled in, are what was evaluated and signed.
      expect(data.arguments).toEqual({
        orderId: 'O-1',
        amountUsd: 40,
        reason: 'damaged',
        note: '',
      });
      expect(data.amountUsdMicros).toBe(40_000_000);
      const verifier = policyVerifier(() => T0 + 1_000);
      const identity = {
        tenantId: 'acme',
        taskId: 'task-1',
        actionId: data.actionId,
        tool: data.tool,
      };
      const fields = (args: Record<string, unknown>) =>
        decisionFields(
          { ...identity, arguments: args },
          data.decision.route,
          data.decision.policyVersion,
          data.decision.approvalsRequired,
        );
      expect(verifier.verify(fields(data.arguments), data.decision.signed)).toEqual({ ok: true });
      expect(
        verifier.verify(fields({ ...data.arguments, amountUsd: 4000 }), data.decision.signed),
      ).toMatchObject({
        ok: false,
        failure: 'hash_mismatch',
      });
      const late = policyVerifier(() => T0 + 16 * 60_000);
      expect(late.verify(fields(data.arguments), data.decision.signed)).toMatchObject({
        ok: false,
        failure: 'expired',
      });
    });
  });

  describe('checks before Cedar', () => {
    it('denies a hallucinated tool, listing the tools the agent may use', async () => {
      const event = rejected(await decide(proposal({ tool: 'delete_customer', arguments: {} })));
      expect(event.data).toMatchObject({ gate: 'policy', code: 'unknown_tool' });
      expect(event.data.reason).toContain('there is no tool named "delete_customer"');
      expect(event.data.reason).toContain(
        'draft_email, escalate_to_human, issue_refund, lookup_customer, send_email',
      );
    });

    it('denies a real tool outside the allowlist as not_allowlisted', async () => {
      const event = rejected(
        await decide(
          proposal({
            tool: 'transfer_funds',
            arguments: { supplierId: 's', invoiceId: 'i', amountUsd: 1 },
          }),
        ),
      );
      expect(event.data.code).toBe('not_allowlisted');
      expect(event.data.reason).toContain('"transfer_funds" is not a tool this agent may use');
    });

    it('denies arguments that do not parse, with the schema issues', async () => {
      const event = rejected(
        await decide(
          proposal({ tool: 'issue_refund', arguments: { orderId: 'O-1', amountUsd: -5 } }),
        ),
      );
      expect(event.data.code).toBe('invalid_arguments');
      expect(event.data.reason).toMatch(/amountUsd: .*>0/);
      expect(event.data.reason).toContain('reason:');
    });

    it('denies an agent the catalog does not know, and a proposal without a tenant', async () => {
      const unknown = rejected(await decide(proposal({ agent: { name: 'ghost', version: 1 } })));
      expect(unknown.data).toMatchObject({ code: 'policy_denied' });
      expect(unknown.data.reason).toContain('agent ghost v1 is not in the catalog');
      const noTenant = rejected(await decide(proposal({ tenantId: null })));
      expect(noTenant.data.reason).toContain('names no tenant');
    });
  });

  describe('loops', () => {
    it('denies the same tool with the same arguments the third time in a task, and says so', async () => {
      const same = { tool: 'lookup_customer', arguments: { customer: 'C-7' } };
      decided(await decide(proposal(same)));
      // Key order does not make a call different.
      decided(await decide(proposal({ ...same, arguments: { customer: 'C-7' } })));
      const third = rejected(await decide(proposal(same)));
      expect(third.data.code).toBe('loop_detected');
      expect(third.data.reason).toContain('proposed 3 times in this task');
      decided(await decide(proposal({ ...same, arguments: { customer: 'C-8' } })));
      decided(await decide(proposal({ ...same, taskId: 'task-2' })));
    });

    it('counts case and Unicode variants of an identity as the same arguments', async () => {
      const call = (customer: string) => ({ tool: 'lookup_customer', arguments: { customer } });
      decided(await decide(proposal(call('C-7'))));
      decided(await decide(proposal(call('c-7'))));
      expect(rejected(await decide(proposal(call('\uff23-7')))).data.code).toBe('loop_detected');
    });

    it('uses the profile threshold', async () => {
      await h.gate.catalog.publishProfile(
        { ...SUPPORT_PROFILE, version: 2, loopThreshold: 2 },
        'test',
      );
      const same = {
        agent: { name: 'support', version: 2 },
        tool: 'lookup_customer',
        arguments: { customer: 'C-1' },
      };
      decided(await decide(proposal(same)));
      expect(rejected(await decide(proposal(same))).data.code).toBe('loop_detected');
    });
  });

  describe('rate limits', () => {
    it('limits a tenant per action class per minute, held in the store', async () => {
      await h.gate.catalog.publishProfile(
        { ...SUPPORT_PROFILE, version: 2, rateLimits: { customer_read: 2 } },
        'test',
      );
      const call = (customer: string, tenantId = 'acme') =>
        decide(
          proposal({
            agent: { name: 'support', version: 2 },
            arguments: { customer },
            tenantId,
            taskId: `t-${customer}`,
          }),
        );
      decided(await call('C-1'));
      decided(await call('C-2'));
      const limited = rejected(await call('C-3'));
      expect(limited.data.code).toBe('rate_limited');
      expect(limited.data.reason).toContain('2 customer_read actions a minute');
      expect(limited.data.reason).toContain('propose again in 30 s');
      decided(await call('C-4', 'globex'));
      h.clock.advance(60_000);
      decided(await call('C-5'));
    });
  });

  describe('routes', () => {
    it('sends a permit annotated @route("approve") to a human', async () => {
      const event = decided(
        await decide(
          proposal({
            tool: 'issue_refund',
            arguments: { orderId: 'O-1', amountUsd: 250, reason: 'late' },
          }),
        ),
      );
      expect(event.data.decision).toMatchObject({
        route: 'approve',
        approvalsRequired: 1,
        determiningPolicies: ['large-refund-needs-a-human'],
      });
      expect(event.data.decision.reason).toContain('refunds over $100 need a support lead');
      // Valid for the decision TTL plus the whole approval chain (support: one group, 2 h).
      expect(event.data.decision.signed.expiresAt).toBe(
        new Date(T0 + 15 * 60_000 + 2 * 3_600_000).toISOString(),
      );
    });

    it('sends a refund to a human once the task’s refunds add up past $100, though each is under it', async () => {
      const part = (taskId: string, note: string) =>
        proposal({
          taskId,
          tool: 'issue_refund',
          arguments: { orderId: 'O-1', amountUsd: 80, reason: 'other', note },
        });
      const first = decided(await decide(part('task-split', 'part 1 of 3')));
      expect(first.data.decision).toMatchObject({
        route: 'allow',
        determiningPolicies: ['small-refund'],
      });
      const second = decided(await decide(part('task-split', 'part 2 of 3')));
      expect(second.data.decision).toMatchObject({ route: 'approve', approvalsRequired: 1 });
      expect(second.data.decision.determiningPolicies).toContain('split-refunds-need-a-human');
      expect(second.data.decision.reason).toContain("this task's refunds add up to more than $100");
      // The sum is the task's: another task's $80 refund is its first, and runs alone.
      const other = decided(await decide(part('task-other', 'part 1 of 1')));
      expect(other.data.decision).toMatchObject({ route: 'allow' });
    });

    it('sends an order to a person once the task’s orders of that SKU add up past the per-order limit', async () => {
      const order = (sku: string, lot: string) =>
        proposal({
          taskId: 'task-orders',
          agent: { name: 'procurement', version: 1 },
          tool: 'place_purchase_order',
          arguments: {
            supplierId: 'SUP-HARDWARE',
            sku,
            quantity: 10,
            unitPriceUsd: 800,
            amountUsd: 8_000,
            justification: `lot ${lot}`,
          },
        });
      expect(decided(await decide(order('PANEL-X', 'a'))).data.decision.route).toBe('allow');
      // Another SKU is another order: its own $8,000 is under the limit.
      expect(decided(await decide(order('RACK-Y', 'a'))).data.decision.route).toBe('allow');
      const second = decided(await decide(order('PANEL-X', 'b'))).data.decision;
      expect(second).toMatchObject({ route: 'approve' });
      expect(second.determiningPolicies).toContain('split-orders-need-a-person');
    });

    it('asks for N distinct reviewers where a permit says @approvals("N")', async () => {
      const event = decided(
        await decide(
          helpdesk('reset_password', { userEmail: 'ceo@acme.example', reason: 'locked out' }),
        ),
      );
      expect(event.data.decision).toMatchObject({
        route: 'approve',
        approvalsRequired: 2,
        reviewerGroup: 'it-service-desk',
      });
      expect(event.data.decision.determiningPolicies).toEqual(
        expect.arrayContaining(['reset-password-executive', 'reset-password-needs-user']),
      );
    });

    it('sends an executive in any case to two IT reviewers, and signs the arguments as proposed', async () => {
      const event = decided(
        await decide(
          helpdesk('reset_password', { userEmail: 'CEO@acme.example', reason: 'locked out' }),
        ),
      );
      expect(event.data.decision).toMatchObject({
        route: 'approve',
        approvalsRequired: 2,
        reviewerGroup: 'it-service-desk',
      });
      expect(event.data.arguments).toEqual({ userEmail: 'CEO@acme.example', reason: 'locked out' });
      const verifier = policyVerifier(() => T0 + 1_000);
      const identity = { ...event.data, tenantId: 'acme', taskId: 'task-1' };
      expect(
        verifier.verify(
          decisionFieldsOf(identity, event.data.decision),
          event.data.decision.signed,
        ),
      ).toEqual({ ok: true });
    });

    it('asks the reviewer group a permit names with @reviewers, and signs it', async () => {
      const event = decided(
        await decide(
          helpdesk('install_software', {
            package: 'slack',
            deviceId: 'LT-1',
            requester: 'bob@acme.example',
          }),
        ),
      );
      const { data } = event;
      expect(data.decision).toMatchObject({
        route: 'approve',
        reviewerGroup: 'it-service-desk',
        determiningPolicies: ['install-needs-it'],
      });
      const verifier = policyVerifier(() => T0 + 1_000);
      const identity = { ...data, tenantId: 'acme', taskId: 'task-1' };
      const redirected = { ...data.decision, reviewerGroup: 'end-user' };
      expect(
        verifier.verify(decisionFieldsOf(identity, data.decision), data.decision.signed),
      ).toEqual({ ok: true });
      expect(verifier.verify(decisionFieldsOf(identity, redirected), data.decision.signed).ok).toBe(
        false,
      );
      // A permit that names no group leaves the chain's start to the approvals gate.
      const reset = decided(
        await decide(
          helpdesk('reset_password', { userEmail: 'dana@acme.example', reason: 'locked out' }),
        ),
      );
      expect(reset.data.decision).not.toHaveProperty('reviewerGroup');
    });

    it('sends an irreversible tool to a human unless the profile lifts it, and records the lift', async () => {
      const email = {
        tool: 'send_email',
        arguments: { to: ['ann@example.com'], subject: 'Re', body: 'Hi' },
      };
      const lifted = decided(await decide(proposal(email)));
      expect(lifted.data.decision).toMatchObject({ route: 'allow', irreversibleLifted: true });
      expect(lifted.data.decision.reason).toContain('the profile lifts its human approval');

      await h.gate.catalog.publishProfile(
        { ...SUPPORT_PROFILE, version: 2, liftIrreversibleApproval: [] },
        'test',
      );
      const gated = decided(
        await decide(proposal({ ...email, agent: { name: 'support', version: 2 } })),
      );
      expect(gated.data.decision).toMatchObject({
        route: 'approve',
        approvalsRequired: 1,
        irreversibleLifted: false,
      });
      expect(gated.data.decision.reason).toContain('send_email is irreversible');
      expect(gated.data.riskClass).toBe('irreversible');
    });

    it('sends a write fed by untrusted values to a human; a read stays autonomous', async () => {
      const refund = {
        tool: 'issue_refund',
        arguments: { orderId: 'O-9912', amountUsd: 20, reason: 'goodwill' },
        tainted: ['O-9912'],
      };
      const event = decided(await decide(proposal(refund)));
      expect(event.data.decision.route).toBe('approve');
      expect(event.data.decision.determiningPolicies).toContain('unverified-order-needs-a-human');
      // The reviewers are shown which argument came from untrusted text, signed: hiding it breaks the signature.
      expect(event.data.decision.taintedArgs).toEqual(['orderId']);
      const check = (decision: typeof event.data.decision) =>
        policyVerifier(() => T0 + 1_000).verify(
          decisionFieldsOf({ ...event.data, tenantId: 'acme', taskId: 'task-1' }, decision),
          event.data.decision.signed,
        );
      expect(check(event.data.decision)).toEqual({ ok: true });
      expect(check({ ...event.data.decision, taintedArgs: [] }).ok).toBe(false);
      const read = decided(
        await decide(proposal({ arguments: { customer: 'C-66' }, tainted: ['C-66'] })),
      );
      expect(read.data.decision.route).toBe('allow');
    });
  });

  describe('Cedar', () => {
    it('lets a forbid beat a matching permit, naming the forbid', async () => {
      const event = rejected(
        await decide(
          proposal({
            tool: 'send_email',
            arguments: { to: ['ann@example.com'], cc: ['x@evil.test'], subject: 'Re', body: 'Hi' },
          }),
        ),
      );
      expect(event.data.code).toBe('policy_denied');
      expect(event.data.reason).toContain('denied by "email-domain-allowlist"');
      expect(event.data.versions).toMatchObject({ policy: 1 });
    });

    it('denies by default when no permit matches', async () => {
      await h.gate.catalog.publishPolicy({
        policyId: 'support',
        author: 'test',
        cedar:
          '@id("only-lookups")\npermit (principal, action == Action::"lookup_customer", resource);\n',
      });
      const event = rejected(
        await decide(proposal({ tool: 'escalate_to_human', arguments: { summary: 'help' } })),
      );
      expect(event.data.reason).toContain('no policy in support v2 permits escalate_to_human');
      expect(event.data.reason).toContain('default deny');
    });
  });

  describe('policy versions', () => {
    it('applies a rollback to the next decision, which names the version', async () => {
      const v1 = await h.gate.catalog.policy('support');
      await h.gate.catalog.publishPolicy({
        policyId: 'support',
        author: 'alice',
        description: 'stop lookups',
        cedar: `${v1!.cedar}\n@id("no-lookups")\nforbid (principal, action == Action::"lookup_customer", resource);\n`,
      });
      const denied = rejected(await decide(proposal({ arguments: { customer: 'C-1' } })));
      expect(denied.data.reason).toContain('"no-lookups"');
      expect(denied.data.versions.policy).toBe(2);

      await h.gate.catalog.makePolicyCurrent('support', 1, 'bob');
      const allowed = decided(await decide(proposal({ arguments: { customer: 'C-2' } })));
      expect(allowed.data.decision.policyVersion).toBe(1);
      expect(allowed.data.versions.policy).toBe(1);
    });

    it('uses the version a profile pins, whatever is current', async () => {
      await h.gate.catalog.publishPolicy({
        policyId: 'it-helpdesk',
        author: 'alice',
        cedar: '@id("nothing")\nforbid (principal, action, resource);\n',
      });
      await h.gate.catalog.publishProfile(
        { ...IT_HELPDESK_PROFILE, version: 2, policy: { id: 'it-helpdesk', version: 1 } },
        'test',
      );
      const event = decided(
        await decide(
          proposal({
            agent: { name: 'it-helpdesk', version: 2 },
            tool: 'search_kb',
            arguments: { query: 'vpn' },
          }),
        ),
      );
      expect(event.data.decision.policyVersion).toBe(1);
    });
  });

  describe('idempotency', () => {
    it('decides a redelivered proposal once, and a replayed action id not again', async () => {
      const event = proposal({ arguments: { customer: 'C-1' } });
      const first = decided(await decide(event));
      expect(await decide(event)).toMatchObject({ kind: 'duplicate' });
      const replay = proposal({ actionId: first.data.actionId, arguments: { customer: 'C-2' } });
      expect(await decide(replay)).toMatchObject({ kind: 'duplicate' });

      const pending = await h.engines.store.outbox.pending(10);
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({
        topic: 'actions.decided',
        key: 'task-1',
        headers: { traceparent: '00-abc-def-01' },
      });
      expect(pending[0]!.envelope.id).toBe(first.id);
    });

    it('puts a rejection in the outbox in the same transaction', async () => {
      const event = rejected(await decide(proposal({ tool: 'nope', arguments: {} })));
      const pending = await h.engines.store.outbox.pending(10);
      expect(pending.map((p) => [p.topic, p.envelope.id])).toEqual([
        ['actions.rejected', event.id],
      ]);
    });
  });
});

describe('DecideActionUseCase under the kill switch', () => {
  let h: PolicyHarness;
  let killSwitch: KillSwitch;

  beforeEach(async () => {
    // The gate asks whatever the harness was given; the switch persists to the harness's store.
    const gate = { covering: (target: KillTarget) => killSwitch.covering(target) };
    h = await openPolicyHarness({ killSwitch: gate });
    killSwitch = new KillSwitch({ store: h.engines.store, service: 'policy', instance: 'spec' });
  });

  afterEach(() => h.close());

  const kill = (scope: KillScope, commandId = 'kill-1'): KillV1 => ({
    commandId,
    scope,
    reason: 'the agent is emailing customers in a loop',
    rollback: false,
    issuedBy: 'oncall@acme.example',
    issuedAt: new Date(T0).toISOString(),
  });

  const decide = (event: Envelope<'leash.actions.proposed.v1'>) => decideSeen(h.gate, event);

  it('rejects a proposal in the killed scope before evaluating it, naming the kill', async () => {
    await killSwitch.apply(kill({ kind: 'tenant', tenantId: 'acme' }));
    const outcome = await decide(proposal({ tenantId: 'acme', arguments: { customer: 'C-1' } }));
    expect(outcome).toMatchObject({
      kind: 'rejected',
      event: { type: 'leash.actions.rejected.v1', data: { gate: 'policy', code: 'killed' } },
    });
    const reason = (outcome as { event: { data: { reason: string } } }).event.data.reason;
    expect(reason).toContain('tenant acme');
    expect(reason).toContain('the agent is emailing customers in a loop');
    const pending = await h.engines.store.outbox.pending(10);
    expect(pending.map((p) => [p.topic, p.envelope.data])).toEqual([
      ['actions.rejected', expect.objectContaining({ code: 'killed' })],
    ]);
  });

  it('counts a killed proposal towards no loop: after the resume it is decided', async () => {
    await killSwitch.apply(kill({ kind: 'task', taskId: 'task-looping' }));
    for (let i = 0; i < 5; i++) {
      const outcome = await decide(
        proposal({ taskId: 'task-looping', arguments: { customer: 'C-9' } }),
      );
      expect(outcome).toMatchObject({ kind: 'rejected', event: { data: { code: 'killed' } } });
    }
    await killSwitch.resume({
      commandId: 'resume-1',
      scope: { kind: 'task', taskId: 'task-looping' },
      reason: 'fixed',
      issuedBy: 'oncall@acme.example',
      issuedAt: new Date(T0 + 1_000).toISOString(),
    });
    const outcome = await decide(
      proposal({ taskId: 'task-looping', arguments: { customer: 'C-9' } }),
    );
    expect(outcome).toMatchObject({
      kind: 'decided',
      event: { data: { decision: { route: 'allow' } } },
    });
  });

  it('decides proposals outside the scope: other tenants, agents and tasks', async () => {
    await killSwitch.apply(kill({ kind: 'agent', agent: 'it-helpdesk' }));
    await killSwitch.apply(kill({ kind: 'tenant', tenantId: 'globex' }, 'kill-2'));
    const outcome = await decide(proposal({ tenantId: 'acme', arguments: { customer: 'C-2' } }));
    expect(outcome).toMatchObject({ kind: 'decided' });
    expect(
      await decide(proposal({ tenantId: 'globex', arguments: { customer: 'C-2' } })),
    ).toMatchObject({ kind: 'rejected', event: { data: { code: 'killed' } } });
  });

  it('refuses everything under a kill of all', async () => {
    await killSwitch.apply(kill({ kind: 'all' }));
    expect(await decide(proposal({ tool: 'wire_money', arguments: {} }))).toMatchObject({
      kind: 'rejected',
      event: { data: { code: 'killed' } },
    });
  });
});
