import type { RequestDetail } from './inbox-desk';
import { slackPayload } from './inbox-notifications';
import { CLIENT_SCRIPT, escape, requestPage } from './inbox-page';

const HOSTILE = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';

const detail: RequestDetail = {
  approvalId: 'apr_1',
  actionHash: 'a'.repeat(64),
  tenantId: 'acme',
  taskId: 'task-1',
  actionId: 'act-1',
  agent: { name: 'support', version: 1 },
  tool: 'issue_refund',
  arguments: { orderId: HOSTILE, amountUsd: 240 },
  reason: HOSTILE,
  riskClass: 'write',
  policy: {
    policyId: 'support',
    version: 1,
    determiningPolicies: ['large-refund-needs-a-human'],
    reason: HOSTILE,
    taintedArgs: ['orderId'],
  },
  reservedUsdMicros: 240_000_000,
  history: [HOSTILE],
  reviewerGroup: 'support-leads',
  reviewersRequired: 2,
  approvedBy: ['bob'],
  stage: 0,
  requestedAt: '2026-03-01T12:00:00.000Z',
  expiresAt: '2026-03-01T14:00:00.000Z',
  status: 'pending',
  taskInput: HOSTILE,
  taint: [{ argument: 'orderId', foundIn: "the task's input" }],
  answerable: true,
};

describe('the request page', () => {
  it('shows what the agent wrote as text, never as markup', () => {
    const page = requestPage('alice', 'csrf-1', detail);
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain(escape(HOSTILE));
    // The page's data for its script cannot close the script element.
    const data = /<script id="request-data" type="application\/json">(.*?)<\/script>/s.exec(page);
    expect(data?.[1]).not.toContain('</');
    expect(JSON.parse(data![1]!)).toMatchObject({ arguments: { orderId: HOSTILE } });
  });

  it('shows quorum, taint, cost and the audit command when no trace link is configured', () => {
    const page = requestPage('alice', 'csrf-1', detail);
    expect(page).toContain('<b id="quorum">1 of 2</b>');
    expect(page).toMatch(/<dt class="tainted">orderId ⚠<\/dt>/);
    expect(page).toContain('$240.00');
    expect(page).toContain('<code>leash audit task-1</code>');
    expect(requestPage('alice', 'c', { ...detail, traceUrl: 'http://jaeger/t?x=1&y=2' })).toContain(
      'href="http://jaeger/t?x=1&amp;y=2"',
    );
  });

  it('serves its script as one self-contained expression', () => {
    expect(CLIENT_SCRIPT.startsWith('(function inboxClient()')).toBe(true);
    expect(() => new Function(CLIENT_SCRIPT)).not.toThrow();
  });
});

describe('the Slack payload', () => {
  it("escapes the agent's text so it cannot become a link or a mention", () => {
    const payload = slackPayload({
      kind: 'requested',
      url: 'https://inbox/requests/apr_1',
      item: {
        approvalId: 'apr_1',
        tenantId: '<!channel>',
        taskId: 't',
        agent: { name: 'support', version: 1 },
        tool: 'issue_refund',
        riskClass: 'write',
        reviewerGroup: 'support-leads',
        approvals: 0,
        reviewersRequired: 1,
        tainted: false,
        expiresAt: '2026-03-01T14:00:00.000Z',
        requestedAt: '2026-03-01T12:00:00.000Z',
      },
    });
    expect(JSON.stringify(payload)).not.toContain('<!channel>');
    expect(payload.text).toContain('&lt;!channel&gt;');
    expect(payload.text).toMatch(/<https:\/\/inbox\/requests\/apr_1\|Open>$/);
  });
});
