import { createEnvelope } from '@leash/contracts';
import { DEMO_TENANTS, demoReviewersFor, REFERENCE_REVIEWER_GROUPS } from './demo-reviewers';
import { describeEvent } from './task-progress';

const requested = (tenantId: string) =>
  createEnvelope(
    'leash.approvals.requested.v1',
    {
      approvalId: 'apv-1',
      actionId: 'act-1',
      actionHash: 'a'.repeat(64),
      agent: { name: 'support', version: 1 },
      tool: 'issue_refund',
      arguments: { orderId: 'o-1', amountUsd: 400 },
      reason: 'charged twice',
      riskClass: 'write',
      policy: { policyId: 'support', version: 1, determiningPolicies: [] },
      reservedUsdMicros: 0,
      history: [],
      reviewersRequired: 2,
      reviewerGroup: 'support-leads',
      expiresAt: '2026-01-01T00:10:00.000Z',
    },
    { source: 'approvals', tenantId, taskId: 'task-1' },
  );

describe('the demo reviewers', () => {
  it('cover every reference group in each tenant the demo suggests, demo-2 included', () => {
    expect(DEMO_TENANTS).toEqual(expect.arrayContaining(['demo', 'demo-2']));
    for (const tenant of DEMO_TENANTS) {
      for (const group of REFERENCE_REVIEWER_GROUPS) {
        expect(demoReviewersFor(tenant, group).length).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('are named in the approve commands printed for demo-2', () => {
    const text = describeEvent(requested('demo-2'), { reviewersFor: demoReviewersFor }).join('\n');
    expect(text).not.toContain('<reviewer');
    expect(text).toContain('--reviewer ana.support-leads');
  });

  it('a tenant with no known reviewer gets how to add one, not a placeholder', () => {
    const text = describeEvent(requested('acme'), { reviewersFor: demoReviewersFor }).join('\n');
    expect(text).not.toContain('<reviewer 1>');
    expect(text).toContain('bin/leash reviewers keygen --reviewer R');
    expect(text).toContain(
      'bin/leash reviewers add --reviewer R --group support-leads --tenant acme',
    );
  });
});
