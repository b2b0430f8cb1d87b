import { UsageError } from './arguments';
import { parseReviewersCommand } from './reviewers.command';

function usage(argv: string[]): string {
  try {
    parseReviewersCommand(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('leash reviewers arguments', () => {
  it('keygen takes a reviewer, an optional key file and --force', () => {
    expect(parseReviewersCommand(['keygen', '--reviewer', 'ana'])).toEqual({
      kind: 'reviewers-keygen',
      reviewer: 'ana',
      force: false,
    });
    expect(
      parseReviewersCommand(['keygen', '--reviewer', 'ana', '--key-file', 'a.key', '--force']),
    ).toEqual({ kind: 'reviewers-keygen', reviewer: 'ana', keyFile: 'a.key', force: true });
    expect(usage(['keygen'])).toBe('reviewers keygen needs --reviewer R');
  });

  it('add takes groups, tools, a name and a public key; the tenant defaults to demo', () => {
    expect(
      parseReviewersCommand([
        'add',
        '--reviewer',
        'fin@acme.example',
        '--tenant',
        'acme',
        '--group',
        'finance',
        '--group',
        'support-leads',
        '--tool',
        'issue_refund',
        '--name',
        'Fin',
        '--public-key',
        '@fin.pub',
      ]),
    ).toEqual({
      kind: 'reviewers-add',
      tenantId: 'acme',
      reviewer: 'fin@acme.example',
      groups: ['finance', 'support-leads'],
      tools: ['issue_refund'],
      displayName: 'Fin',
      publicKey: '@fin.pub',
    });
    expect(parseReviewersCommand(['add', '--reviewer', 'ana'])).toMatchObject({
      tenantId: 'demo',
      groups: [],
    });
    expect(usage(['add', '--reviewer', 'ana', '--public-key', ' '])).toBe(
      '--public-key must not be empty',
    );
  });

  it('list, remove and revoke-key', () => {
    expect(parseReviewersCommand(['list'])).toEqual({ kind: 'reviewers-list' });
    expect(parseReviewersCommand(['remove', '--reviewer', 'ana', '--tenant', 't'])).toEqual({
      kind: 'reviewers-remove',
      tenantId: 't',
      reviewer: 'ana',
    });
    expect(
      parseReviewersCommand(['revoke-key', '--reviewer', 'ana', '--key-id', 'ed25519:00']),
    ).toEqual({
      kind: 'reviewers-revoke-key',
      tenantId: 'demo',
      reviewer: 'ana',
      keyId: 'ed25519:00',
    });
  });

  it('invite: the name first or as --reviewer, at least one group', () => {
    expect(
      parseReviewersCommand(['invite', 'lee@acme.example', '--group', 'finance', '--group', 'ops']),
    ).toEqual({
      kind: 'reviewers-invite',
      tenantId: 'demo',
      reviewer: 'lee@acme.example',
      groups: ['finance', 'ops'],
    });
    expect(
      parseReviewersCommand(['invite', '--reviewer', 'lee', '--group', 'g', '--tenant', 't']),
    ).toMatchObject({ reviewer: 'lee', tenantId: 't' });
    expect(usage(['invite', 'lee'])).toBe('reviewers invite needs --group G');
  });

  it('answers help and names what it does not know', () => {
    expect(parseReviewersCommand([])).toEqual({ kind: 'help', topic: 'reviewers' });
    expect(parseReviewersCommand(['add', '--help'])).toEqual({ kind: 'help', topic: 'reviewers' });
    expect(usage(['rotate'])).toBe(
      'unknown reviewers command "rotate": use keygen, add, invite, list, remove or revoke-key',
    );
    expect(usage(['list', '--secret', 'x'])).toBe("reviewers list: Unknown option '--secret'");
  });
});
