import { loadConfig, BASE_ENV, extendEnv } from '@leash/config';
import { APPROVALS_GATE_VARIABLES } from '../gate/approvals.config';
import { configuredReviewers } from '../gate/approval-gate.module';
import { Reviewer, parseReviewers } from './reviewer';
import { checkReviewer } from './reviewer-directory';

const question = {
  tenantId: 'acme',
  reviewer: 'alice@acme.example',
  group: 'support-leads',
  tool: 'issue_refund',
};

function reviewer(overrides: Partial<Reviewer> = {}): Reviewer {
  return Reviewer.parse({
    tenantId: 'acme',
    reviewer: 'alice@acme.example',
    groups: ['support-leads'],
    ...overrides,
  });
}

describe('checkReviewer', () => {
  it('allows a member of the group asked, for any tool unless restricted', () => {
    expect(checkReviewer(reviewer(), question)).toMatchObject({ allowed: true });
    expect(checkReviewer(reviewer({ tools: ['issue_refund'] }), question)).toMatchObject({
      allowed: true,
    });
  });

  it.each([
    ['unknown_reviewer', undefined],
    ['inactive_reviewer', reviewer({ active: false })],
    ['not_in_group', reviewer({ groups: ['finance'] })],
    ['tool_not_allowed', reviewer({ tools: ['send_email'] })],
  ])('refuses with %s', (refusal, entry) => {
    const check = checkReviewer(entry, question);
    expect(check).toMatchObject({ allowed: false, refusal });
    expect(!check.allowed && check.reason).toContain('alice@acme.example');
  });
});

describe('reviewers from config', () => {
  const ENV = extendEnv(BASE_ENV, APPROVALS_GATE_VARIABLES);
  const KEYS = 'k1:a-secret-of-at-least-thirty-two-bytes!';

  it('parses LEASH_REVIEWERS at start-up', () => {
    const config = loadConfig(ENV, {
      env: {
        LEASH_SIGNING_KEYS: KEYS,
        LEASH_REVIEWERS: JSON.stringify([
          { tenantId: 'acme', reviewer: 'alice', groups: ['support-leads'] },
        ]),
      },
    });
    expect(configuredReviewers(config)).toEqual([
      { tenantId: 'acme', reviewer: 'alice', groups: ['support-leads'], active: true, keys: [] },
    ]);
  });

  it('fails fast on a bad list, naming the variable', () => {
    expect(() =>
      loadConfig(ENV, {
        env: { LEASH_SIGNING_KEYS: KEYS, LEASH_REVIEWERS: '[{"tenantId":"acme"}]' },
      }),
    ).toThrow(/LEASH_REVIEWERS/);
    expect(() => parseReviewers('not json', 'reviewers.json')).toThrow(/reviewers.json: not JSON/);
  });

  it('names a reviewers file it cannot read', () => {
    const config = loadConfig(ENV, {
      env: { LEASH_SIGNING_KEYS: KEYS, LEASH_REVIEWERS_FILE: '/no/such/reviewers.json' },
    });
    expect(() => configuredReviewers(config)).toThrow(/LEASH_REVIEWERS_FILE \/no\/such/);
  });

  it('refuses a short signing key', () => {
    expect(() => loadConfig(ENV, { env: { LEASH_SIGNING_KEYS: 'k1:short' } })).toThrow(
      /LEASH_SIGNING_KEYS/,
    );
  });
});
