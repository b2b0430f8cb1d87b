import { DEFAULT_RESUME_REASON, DEFAULT_TIMEOUT_MS, parseCommand, UsageError } from './arguments';

const defaults = { issuedBy: 'ana@laptop' };
const parse = (line: string[]) => parseCommand(line, defaults);

function usageError(line: string[]): UsageError {
  try {
    parse(line);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`parsed: ${line.join(' ')}`);
}

describe('parseCommand', () => {
  describe('kill', () => {
    it('reads kill list, which takes nothing else', () => {
      expect(parse(['kill', 'list'])).toEqual({ kind: 'kill-list' });
      expect(() => parse(['kill', 'list', '--all'])).toThrow(UsageError);
    });

    it('reads each scope', () => {
      expect(parse(['kill', '--all', '--reason', 'runaway'])).toEqual({
        kind: 'kill',
        scope: { kind: 'all' },
        reason: 'runaway',
        rollback: false,
        issuedBy: 'ana@laptop',
        timeoutMs: DEFAULT_TIMEOUT_MS,
      });
      expect(parse(['kill', '--tenant', 'acme', '--reason', 'x'])).toMatchObject({
        scope: { kind: 'tenant', tenantId: 'acme' },
      });
      expect(parse(['kill', '--agent=support', '--reason', 'x'])).toMatchObject({
        scope: { kind: 'agent', agent: 'support' },
      });
      expect(parse(['kill', '--task', 't-1', '--reason', 'x'])).toMatchObject({
        scope: { kind: 'task', taskId: 't-1' },
      });
    });

    it('reads --rollback, --by and --timeout', () => {
      expect(
        parse([
          'kill',
          '--task',
          't',
          '--reason',
          'x',
          '--rollback',
          '--by',
          'oncall',
          '--timeout',
          '2500',
        ]),
      ).toMatchObject({ rollback: true, issuedBy: 'oncall', timeoutMs: 2500 });
    });

    it('refuses --rollback beyond one task', () => {
      expect(usageError(['kill', '--tenant', 'acme', '--reason', 'x', '--rollback']).message).toBe(
        "--rollback undoes one task's completed write actions: name the task with --task ID",
      );
    });

    it('needs exactly one scope', () => {
      expect(usageError(['kill', '--reason', 'x']).message).toBe(
        'kill needs a scope: --all, --tenant T, --agent A or --task ID',
      );
      expect(usageError(['kill', '--all', '--task', 't', '--reason', 'x']).message).toBe(
        'kill takes one scope, got --all and --task',
      );
    });

    it('needs a reason', () => {
      expect(usageError(['kill', '--all']).message).toBe(
        'kill needs --reason "..." (it is recorded and audited)',
      );
      expect(usageError(['kill', '--all', '--reason', '  ']).topic).toBe('kill');
    });

    it('refuses empty scope values, unknown options, missing values and bad timeouts', () => {
      expect(usageError(['kill', '--tenant', ' ', '--reason', 'x']).message).toBe(
        '--tenant must not be empty',
      );
      expect(usageError(['kill', '--all', '--reason', 'x', '--force']).message).toBe(
        "kill: Unknown option '--force'",
      );
      expect(usageError(['kill', '--reason', 'x', '--tenant']).message).toBe(
        "kill: Option '--tenant <value>' argument missing",
      );
      expect(usageError(['kill', '--all', '--reason', 'x', '--timeout', '1s']).message).toBe(
        '--timeout must be a whole number from 1 to 600000, got "1s"',
      );
      expect(usageError(['kill', 'everything', '--reason', 'x']).message).toContain(
        "Unexpected argument 'everything'",
      );
    });

    it('answers --help', () => {
      expect(parse(['kill', '--help'])).toEqual({ kind: 'help', topic: 'kill' });
    });
  });

  describe('resume', () => {
    it('takes a scope and defaults the reason', () => {
      expect(parse(['resume', '--all'])).toEqual({
        kind: 'resume',
        scope: { kind: 'all' },
        reason: DEFAULT_RESUME_REASON,
        issuedBy: 'ana@laptop',
        timeoutMs: DEFAULT_TIMEOUT_MS,
      });
      expect(parse(['resume', '--tenant', 'acme', '--reason', 'fixed'])).toMatchObject({
        scope: { kind: 'tenant', tenantId: 'acme' },
        reason: 'fixed',
      });
    });

    it('has no --rollback', () => {
      expect(usageError(['resume', '--all', '--rollback']).message).toBe(
        "resume: Unknown option '--rollback'",
      );
    });
  });

  describe('approvals', () => {
    it('lists, with optional filters', () => {
      expect(parse(['approvals', 'list'])).toEqual({ kind: 'approvals-list' });
      expect(parse(['approvals', 'list', '--tenant', 'acme', '--limit', '5'])).toEqual({
        kind: 'approvals-list',
        tenantId: 'acme',
        limit: 5,
      });
      expect(usageError(['approvals', 'list', '--limit', '0']).message).toBe(
        '--limit must be a whole number from 1 to 1000, got "0"',
      );
    });

    it('approves, rejects with feedback, and edits with JSON arguments', () => {
      expect(parse(['approvals', 'approve', 'apv-1', '--reviewer', 'bo'])).toEqual({
        kind: 'approvals-decide',
        verdict: 'approve',
        approvalId: 'apv-1',
        reviewer: 'bo',
      });
      expect(
        parse(['approvals', 'reject', 'apv-1', '--reviewer', 'bo', '--feedback', 'too much']),
      ).toMatchObject({ verdict: 'reject', feedback: 'too much' });
      expect(
        parse(['approvals', 'edit', 'apv-1', '--reviewer', 'bo', '--args', '{"amount": 50}']),
      ).toMatchObject({ verdict: 'edit', arguments: { amount: 50 } });
      expect(
        parse(['approvals', 'approve', 'apv-1', '--reviewer', 'bo', '--key-file', 'keys/bo.key']),
      ).toMatchObject({ reviewer: 'bo', keyFile: 'keys/bo.key' });
    });

    it('explains what a verdict is missing', () => {
      expect(usageError(['approvals', 'approve', '--reviewer', 'bo']).message).toBe(
        'approvals approve takes one approval id, got none',
      );
      expect(usageError(['approvals', 'approve', 'apv-1']).message).toBe(
        'approvals approve needs --reviewer R (who decides)',
      );
      expect(usageError(['approvals', 'reject', 'apv-1', '--reviewer', 'bo']).message).toBe(
        'approvals reject needs --feedback "..." (the planner receives it)',
      );
      expect(usageError(['approvals', 'edit', 'apv-1', '--reviewer', 'bo']).message).toContain(
        'approvals edit needs --args',
      );
      expect(
        usageError(['approvals', 'edit', 'apv-1', '--reviewer', 'bo', '--args', '{amount: 5}'])
          .message,
      ).toMatch(/^--args is not JSON: /);
      expect(
        usageError(['approvals', 'edit', 'apv-1', '--reviewer', 'bo', '--args', '[1]']).message,
      ).toBe("--args must be a JSON object of the tool's arguments");
      expect(
        usageError(['approvals', 'approve', 'apv-1', '--reviewer', 'bo', '--args', '{}']).message,
      ).toBe('--args is for edit');
      expect(usageError(['approvals', 'delete', 'apv-1']).message).toBe(
        'unknown approvals command "delete": use list, approve, reject or edit',
      );
    });
  });

  it('shows help for no command, help and --help, and refuses unknown commands', () => {
    expect(parse([])).toEqual({ kind: 'help' });
    expect(parse(['--help'])).toEqual({ kind: 'help' });
    expect(parse(['help', 'approvals'])).toEqual({ kind: 'help', topic: 'approvals' });
    expect(usageError(['stop']).message).toBe('unknown command "stop"');
  });
});
