import { createEnvelope } from '@leash/contracts';
import { auditEntryOf } from './describe-event';

const NOW = '2026-11-21T12:00:00.000Z';
const HASH = 'a'.repeat(64);
const on = { source: 'approvals', tenantId: 'demo', taskId: 'task-1' };

describe('the audit of a verdict', () => {
  it("records what the reviewer sent as an answer, not as the gate's decision", () => {
    const sent = createEnvelope(
      'leash.approvals.decided.v1',
      { verdict: 'approve', approvalId: 'apr_1', actionHash: HASH, reviewer: 'ana.end-user' },
      { ...on, source: 'reviewer' },
    );
    const entry = auditEntryOf('approvals.decided', sent, {}, NOW);
    expect(entry.summary).toBe('ana.end-user answered approve on approval apr_1');
    expect(entry).not.toHaveProperty('decision');
  });

  it('records a refused verdict as refused, with the code and why', () => {
    const refused = createEnvelope(
      'leash.approvals.verdict_recorded.v1',
      {
        approvalId: 'apr_1',
        verdictId: 'v-1',
        reviewer: 'ana.end-user',
        verdict: 'approve',
        outcome: 'refused',
        refusal: 'not_in_group',
        reason: 'ana.end-user (tenant demo) is not in reviewer group it-service-desk',
        reviewerGroup: 'it-service-desk',
      },
      on,
    );
    const entry = auditEntryOf('approvals.verdicts', refused, {}, NOW);
    expect(entry).toMatchObject({
      kind: 'approval',
      decision: {
        gate: 'approvals',
        outcome: 'refused',
        code: 'not_in_group',
        approvalId: 'apr_1',
      },
    });
    expect(entry.summary).toBe(
      "approvals refused ana.end-user's approve on approval apr_1 (not_in_group): ana.end-user (tenant demo) is not in reviewer group it-service-desk",
    );
  });

  it('records an accepted verdict with what it did', () => {
    const accepted = (effect: 'counted' | 'authorized') =>
      auditEntryOf(
        'approvals.verdicts',
        createEnvelope(
          'leash.approvals.verdict_recorded.v1',
          {
            approvalId: 'apr_2',
            verdictId: `v-${effect}`,
            reviewer: 'ben.it-service-desk',
            verdict: 'approve',
            outcome: 'accepted',
            effect,
            reason: effect,
          },
          on,
        ),
        {},
        NOW,
      );
    expect(accepted('authorized')).toMatchObject({
      decision: { gate: 'approvals', outcome: 'authorized' },
      summary: "approvals accepted ben.it-service-desk's approve on approval apr_2: authorized",
    });
    expect(accepted('counted').summary).toBe(
      "approvals accepted ben.it-service-desk's approve on approval apr_2: counted, more reviewers needed",
    );
  });

  it('names what proved the reviewer of an accepted verdict', () => {
    const proven = (provenBy: { by: 'reviewer' | 'front_end'; keyId: string; frontEnd?: string }) =>
      auditEntryOf(
        'approvals.verdicts',
        createEnvelope(
          'leash.approvals.verdict_recorded.v1',
          {
            approvalId: 'apr_3',
            verdictId: 'v-3',
            reviewer: 'ana.finance',
            verdict: 'approve',
            outcome: 'accepted',
            effect: 'authorized',
            reason: 'authorized',
            provenBy,
          },
          on,
        ),
        {},
        NOW,
      ).summary;
    expect(proven({ by: 'reviewer', keyId: 'ed25519:0123456789abcdef' })).toBe(
      "approvals accepted ana.finance's approve on approval apr_3: authorized (signed with the reviewer's key ed25519:0123456789abcdef)",
    );
    expect(proven({ by: 'front_end', keyId: 'ed25519:00', frontEnd: 'web-inbox' })).toContain(
      '(vouched for by front end web-inbox, key ed25519:00)',
    );
  });

  it('refuses a recorded verdict that says neither its effect nor its refusal', () => {
    expect(() =>
      createEnvelope(
        'leash.approvals.verdict_recorded.v1',
        {
          approvalId: 'apr_3',
          verdictId: 'v-3',
          reviewer: 'ana',
          verdict: 'approve',
          outcome: 'accepted',
          reason: 'accepted',
        },
        on,
      ),
    ).toThrow(/names its effect/);
  });
});

describe('the audit of a time zone change', () => {
  it('names who changed it, and until when the old day keeps counting', () => {
    const changed = createEnvelope(
      'leash.budget.time_zone_changed.v1',
      {
        from: 'UTC',
        to: 'Etc/GMT+12',
        countingDay: '2026-03-02',
        effectiveAt: '2026-03-03T00:00:00.000Z',
        changedBy: 'ops@acme.example',
        changedAt: '2026-03-02T10:00:00.000Z',
      },
      { source: 'budget', tenantId: 'acme' },
    );
    const entry = auditEntryOf('budget.alarms', changed, {}, NOW);
    expect(entry).toMatchObject({ kind: 'control', tenantId: 'acme', taskId: null });
    expect(entry.summary).toBe(
      'time zone of tenant acme changed from UTC to Etc/GMT+12 by ops@acme.example; ' +
        'day 2026-03-02 (UTC) keeps counting until 2026-03-03T00:00:00.000Z',
    );
  });
});

describe('the audit of a routing change', () => {
  const routed = {
    agent: 'support',
    release: 2,
    current: 2,
    history: [1],
    moveRunning: false,
    reason: 'better',
    by: 'ana',
    at: NOW,
    basedOn: '',
  };

  it('names the operator key a change claims, and marks an unsigned one as refused everywhere', () => {
    const signed = createEnvelope(
      'leash.releases.routed.v1',
      {
        ...routed,
        change: 'promote',
        proof: { keyId: 'operator-1', signedAt: NOW, signature: 'c2ln' },
      },
      { source: 'leash-cli' },
    );
    expect(auditEntryOf('control', signed, {}, NOW).summary).toBe(
      'release promote of support@2 by ana (signed with operator key operator-1): current @2, no canary; better',
    );
    const unsigned = createEnvelope(
      'leash.releases.routed.v1',
      { ...routed, change: 'promote' },
      { source: 'planner' },
    );
    expect(auditEntryOf('control', unsigned, {}, NOW).summary).toContain(
      'by ana (unsigned: every service refuses it): current',
    );
    // The canary watch's own rollback is unsigned by design: it may only stop the canary.
    const automatic = createEnvelope(
      'leash.releases.routed.v1',
      { ...routed, change: 'auto-rollback' },
      { source: 'planner' },
    );
    expect(auditEntryOf('control', automatic, {}, NOW).summary).toMatch(
      /^release auto-rollback of support@2 by ana: current/,
    );
  });
});

describe('the audit of a running task', () => {
  it('records a cost alarm with its figures, and a switch to the fallback model', () => {
    const agent = { name: 'support', version: 2 };
    const alarm = createEnvelope(
      'leash.tasks.cost_alarm.v1',
      {
        taskId: 'task-1',
        agent,
        costUsdMicros: 4_000_000,
        typicalUsdMicros: 400_000,
        sample: 20,
        multiple: 10,
        alarmMultiple: 10,
        stopMultiple: 50,
        action: 'alarm',
        at: NOW,
      },
      on,
    );
    expect(auditEntryOf('tasks.progress', alarm, {}, NOW)).toMatchObject({
      kind: 'alarm',
      summary:
        'cost alarm: $4.00, 10.0x the typical support task ($0.40, the median of 20); alarm at 10x, stop at 50x',
    });
    const switched = createEnvelope(
      'leash.tasks.model_switched.v1',
      {
        taskId: 'task-1',
        agent,
        from: 'gpt-4o',
        to: 'gpt-4o-mini',
        spentUsdMicros: 600_000,
        budgetUsdMicros: 1_000_000,
        atBudgetFraction: 0.5,
        at: NOW,
      },
      on,
    );
    expect(auditEntryOf('tasks.progress', switched, {}, NOW).summary).toBe(
      "model switched from gpt-4o to gpt-4o-mini after $0.60 of the task's $1.00 (fallback at 50%)",
    );
  });
});
