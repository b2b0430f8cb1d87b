import { loadConfig, BASE_ENV, extendEnv } from '@leash/config';
import { APPROVALS_GATE_REQUIREMENTS, APPROVALS_GATE_VARIABLES } from '../gate/approvals.config';
import { APPROVALS_KEY_ENV } from '../test/approvals-harness';
import { configuredReviewers } from '../gate/approval-gate.module';
import { generateVerdictKeyPair, verdictPublicKeyPem } from '@leash/signing';
import { Reviewer, parseReviewers } from './reviewer';
import { checkReviewer, mergeKeys } from './reviewer-directory';

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
  const ENV = extendEnv(BASE_ENV, APPROVALS_GATE_VARIABLES, APPROVALS_GATE_REQUIREMENTS);

  it('parses LEASH_REVIEWERS at start-up', () => {
    const config = loadConfig(ENV, {
      env: {
        ...APPROVALS_KEY_ENV,
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
        env: { ...APPROVALS_KEY_ENV, LEASH_REVIEWERS: '[{"tenantId":"acme"}]' },
      }),
    ).toThrow(/LEASH_REVIEWERS/);
    expect(() => parseReviewers('not json', 'reviewers.json')).toThrow(/reviewers.json: not JSON/);
  });

  it('takes reviewers with public keys as PEM or base64, kept as base64', () => {
    const pair = generateVerdictKeyPair();
    const config = loadConfig(ENV, {
      env: {
        ...APPROVALS_KEY_ENV,
        LEASH_REVIEWERS: JSON.stringify([
          {
            tenantId: 'acme',
            reviewer: 'fin',
            groups: ['finance'],
            keys: [{ publicKey: verdictPublicKeyPem(pair.publicKey) }],
          },
        ]),
      },
    });
    expect(configuredReviewers(config)[0]?.keys).toEqual([{ publicKey: pair.publicKey }]);
    expect(() =>
      loadConfig(ENV, {
        env: {
          ...APPROVALS_KEY_ENV,
          LEASH_REVIEWERS: JSON.stringify([
            { tenantId: 'acme', reviewer: 'fin', groups: ['finance'], keys: [{ publicKey: 'x' }] },
          ]),
        },
      }),
    ).toThrow(/LEASH_REVIEWERS[\s\S]*not an Ed25519 public key/);
  });

  it('parses the trusted front ends, refusing a bad key or a name given twice', () => {
    const inbox = generateVerdictKeyPair();
    const frontEnd = { name: 'web-inbox', publicKey: inbox.publicKey, tenants: ['acme'] };
    const config = loadConfig(ENV, {
      env: { ...APPROVALS_KEY_ENV, LEASH_REVIEWER_FRONT_ENDS: JSON.stringify([frontEnd]) },
    });
    expect(config.LEASH_REVIEWER_FRONT_ENDS).toEqual([frontEnd]);
    for (const bad of [[{ ...frontEnd, publicKey: 'nope' }], [frontEnd, frontEnd], 'x']) {
      expect(() =>
        loadConfig(ENV, {
          env: {
            ...APPROVALS_KEY_ENV,
            LEASH_REVIEWER_FRONT_ENDS: typeof bad === 'string' ? bad : JSON.stringify(bad),
          },
        }),
      ).toThrow(/LEASH_REVIEWER_FRONT_ENDS/);
    }
  });

  it('names a reviewers file it cannot read', () => {
    const config = loadConfig(ENV, {
      env: { ...APPROVALS_KEY_ENV, LEASH_REVIEWERS_FILE: '/no/such/reviewers.json' },
    });
    expect(() => configuredReviewers(config)).toThrow(/LEASH_REVIEWERS_FILE \/no\/such/);
  });

  it("needs its own private key and the policy and budget gates' public keys, and no other key", () => {
    const { LEASH_BUDGET_PUBLIC_KEYS: _missing, ...rest } = APPROVALS_KEY_ENV;
    expect(() => loadConfig(ENV, { env: rest })).toThrow(
      /LEASH_BUDGET_PUBLIC_KEYS \(or LEASH_BUDGET_PUBLIC_KEYS_FILE\) is required/,
    );
    expect(() =>
      loadConfig(ENV, { env: { ...APPROVALS_KEY_ENV, LEASH_APPROVALS_SIGNING_KEY: 'k1:short' } }),
    ).toThrow(/LEASH_APPROVALS_SIGNING_KEY \(secret value hidden\)/);
    expect(Object.keys(ENV.variables).filter((name) => /_KEYS?$/.test(name))).toEqual([
      'LEASH_APPROVALS_SIGNING_KEY',
      'LEASH_POLICY_PUBLIC_KEYS',
      'LEASH_BUDGET_PUBLIC_KEYS',
    ]);
  });
});

describe('mergeKeys', () => {
  const a = { publicKey: 'A', addedAt: '2026-01-01T00:00:00.000Z' };
  const b = { publicKey: 'B' };
  const revoked = { ...a, revokedAt: '2026-02-01T00:00:00.000Z' };

  it('adds new keys with the time, keeps stored ones, and never takes back a revocation', () => {
    expect(mergeKeys([revoked], [a, b], '2026-03-01T00:00:00.000Z')).toEqual([
      revoked,
      { publicKey: 'B', addedAt: '2026-03-01T00:00:00.000Z' },
    ]);
    expect(mergeKeys([a], [], 'now')).toEqual([a]);
  });
});
