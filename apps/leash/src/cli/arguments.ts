import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { KillScope } from '@leash/contracts';

/** A command line that cannot be run; the CLI prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The help topic that explains the right usage. */
    readonly topic?: HelpTopic,
  ) {
    super(message);
  }
}

const HELP_TOPICS = [
  'kill',
  'resume',
  'approvals',
  'task',
  'audit',
  'runs',
  'tenant',
  'reviewers',
  'deploy',
  'release',
  'mcp',
  'review',
  'replay',
] as const;
export type HelpTopic = (typeof HELP_TOPICS)[number];

export type CliCommand =
  | { readonly kind: 'help'; readonly topic?: HelpTopic }
  | {
      readonly kind: 'kill';
      readonly scope: KillScope;
      readonly reason: string;
      readonly rollback: boolean;
      readonly issuedBy: string;
      readonly timeoutMs: number;
    }
  | { readonly kind: 'kill-list' }
  | {
      readonly kind: 'resume';
      readonly scope: KillScope;
      readonly reason: string;
      readonly issuedBy: string;
      readonly timeoutMs: number;
    }
  | { readonly kind: 'approvals-list'; readonly tenantId?: string; readonly limit?: number }
  | {
      readonly kind: 'approvals-decide';
      readonly verdict: 'approve' | 'reject' | 'edit';
      readonly approvalId: string;
      readonly reviewer: string;
      /** The reviewer's private key; default <keys dir>/<reviewer>.key. */
      readonly keyFile?: string;
      readonly feedback?: string;
      readonly comment?: string;
      readonly arguments?: Record<string, unknown>;
    };

export interface ParseDefaults {
  /** Who issues kills and resumes unless --by says otherwise (user@host). */
  readonly issuedBy: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESUME_REASON = 'resumed from the leash CLI';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;
const SCOPE = {
  all: { type: 'boolean' },
  tenant: { type: 'string' },
  agent: { type: 'string' },
  task: { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  timeout: { type: 'string' },
} as const;

/** Turns the CLI's arguments (without node and the script) into a command, or throws UsageError. */
export function parseCommand(argv: readonly string[], defaults: ParseDefaults): CliCommand {
  const [name, ...rest] = argv;
  switch (name) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      if (rest[0] === 'gate-keys' || rest[0] === 'topics') return { kind: 'help', topic: 'deploy' };
      if (rest[0] === 'policy') return { kind: 'help', topic: 'release' };
      return { kind: 'help', ...(isTopic(rest[0]) ? { topic: rest[0] } : {}) };
    case 'kill':
      return parseKill(rest, defaults);
    case 'resume':
      return parseResume(rest, defaults);
    case 'approvals':
      return parseApprovals(rest);
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}

function parseKill(argv: readonly string[], defaults: ParseDefaults): CliCommand {
  if (argv[0] === 'list') {
    const { values } = parse('kill list', argv.slice(1), HELP);
    return values.help ? { kind: 'help', topic: 'kill' } : { kind: 'kill-list' };
  }
  const { values } = parse('kill', argv, { ...HELP, ...SCOPE, rollback: { type: 'boolean' } });
  if (values.help) return { kind: 'help', topic: 'kill' };
  const reason = values.reason?.trim();
  if (!reason)
    throw new UsageError('kill needs --reason "..." (it is recorded and audited)', 'kill');
  const scope = scopeOf('kill', values);
  if (values.rollback && scope.kind !== 'task') {
    // Undoing every finished task of a tenant or of everyone is never what a stop means.
    throw new UsageError(
      "--rollback undoes one task's completed write actions: name the task with --task ID",
      'kill',
    );
  }
  return {
    kind: 'kill',
    scope,
    reason,
    rollback: values.rollback ?? false,
    issuedBy: issuer('kill', values.by, defaults),
    timeoutMs: timeoutOf('kill', values.timeout),
  };
}

function parseResume(argv: readonly string[], defaults: ParseDefaults): CliCommand {
  const { values } = parse('resume', argv, { ...HELP, ...SCOPE });
  if (values.help) return { kind: 'help', topic: 'resume' };
  return {
    kind: 'resume',
    scope: scopeOf('resume', values),
    reason: values.reason?.trim() || DEFAULT_RESUME_REASON,
    issuedBy: issuer('resume', values.by, defaults),
    timeoutMs: timeoutOf('resume', values.timeout),
  };
}

function parseApprovals(argv: readonly string[]): CliCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    return { kind: 'help', topic: 'approvals' };
  }
  if (sub === 'list') {
    const { values } = parse('approvals list', rest, {
      ...HELP,
      tenant: { type: 'string' },
      limit: { type: 'string' },
    });
    if (values.help) return { kind: 'help', topic: 'approvals' };
    const limit =
      values.limit === undefined ? undefined : wholeNumber('--limit', values.limit, 1, 1000);
    return {
      kind: 'approvals-list',
      ...(values.tenant !== undefined ? { tenantId: nonEmpty('--tenant', values.tenant) } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
  }
  if (sub === 'approve' || sub === 'reject' || sub === 'edit') {
    const { values, positionals } = parse(
      `approvals ${sub}`,
      rest,
      {
        ...HELP,
        reviewer: { type: 'string' },
        'key-file': { type: 'string' },
        feedback: { type: 'string' },
        comment: { type: 'string' },
        args: { type: 'string' },
      },
      true,
    );
    if (values.help) return { kind: 'help', topic: 'approvals' };
    if (positionals.length !== 1) {
      throw new UsageError(
        `approvals ${sub} takes one approval id, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`,
        'approvals',
      );
    }
    if (!values.reviewer?.trim()) {
      throw new UsageError(`approvals ${sub} needs --reviewer R (who decides)`, 'approvals');
    }
    const feedback = values.feedback?.trim();
    if (sub === 'reject' && !feedback) {
      throw new UsageError(
        'approvals reject needs --feedback "..." (the planner receives it)',
        'approvals',
      );
    }
    if (sub !== 'reject' && values.feedback !== undefined) {
      throw new UsageError(`--feedback is for reject; use --comment with ${sub}`, 'approvals');
    }
    if (sub !== 'edit' && values.args !== undefined) {
      throw new UsageError('--args is for edit', 'approvals');
    }
    if (sub === 'reject' && values.comment !== undefined) {
      throw new UsageError('reject takes --feedback, not --comment', 'approvals');
    }
    let args: Record<string, unknown> | undefined;
    if (sub === 'edit') {
      if (values.args === undefined) {
        throw new UsageError(
          'approvals edit needs --args \'{"field": ...}\' (the fields to change; the others stay as proposed)',
          'approvals',
        );
      }
      args = jsonObject('--args', values.args);
    }
    return {
      kind: 'approvals-decide',
      verdict: sub,
      approvalId: nonEmpty('approval id', positionals[0]),
      reviewer: values.reviewer.trim(),
      ...(values['key-file']?.trim() ? { keyFile: values['key-file'].trim() } : {}),
      ...(feedback ? { feedback } : {}),
      ...(values.comment !== undefined ? { comment: values.comment } : {}),
      ...(args !== undefined ? { arguments: args } : {}),
    };
  }
  throw new UsageError(
    `unknown approvals command "${sub}": use list, approve, reject or edit`,
    'approvals',
  );
}

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<O extends Options>(
  command: string,
  argv: readonly string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (error) {
    // Node's messages are right but long; keep their first sentence.
    const message = (error as Error).message.split('. ')[0].replace(/\.$/, '');
    throw new UsageError(`${command}: ${message}`, topicOf(command));
  }
}

function topicOf(command: string): HelpTopic {
  return command.startsWith('approvals')
    ? 'approvals'
    : command.startsWith('kill')
      ? 'kill'
      : (command as HelpTopic);
}

interface ScopeValues {
  readonly all?: boolean;
  readonly tenant?: string;
  readonly agent?: string;
  readonly task?: string;
}

/** Exactly one of --all, --tenant, --agent, --task: a kill never guesses its scope. */
function scopeOf(command: 'kill' | 'resume', values: ScopeValues): KillScope {
  const given = (['all', 'tenant', 'agent', 'task'] as const).filter(
    (flag) => values[flag] !== undefined && values[flag] !== false,
  );
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? `${command} needs a scope: --all, --tenant T, --agent A or --task ID`
        : `${command} takes one scope, got ${given.map((flag) => `--${flag}`).join(' and ')}`,
      command,
    );
  }
  switch (given[0]) {
    case 'all':
      return { kind: 'all' };
    case 'tenant':
      return { kind: 'tenant', tenantId: nonEmpty('--tenant', values.tenant!) };
    case 'agent':
      return { kind: 'agent', agent: nonEmpty('--agent', values.agent!) };
    case 'task':
      return { kind: 'task', taskId: nonEmpty('--task', values.task!) };
  }
}

function issuer(command: HelpTopic, by: string | undefined, defaults: ParseDefaults): string {
  if (by === undefined) return defaults.issuedBy;
  const trimmed = by.trim();
  if (!trimmed) throw new UsageError('--by needs a name', command);
  return trimmed;
}

function timeoutOf(command: HelpTopic, value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  try {
    return wholeNumber('--timeout', value, 1, 600_000);
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
}

function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

function nonEmpty(what: string, value: string): string {
  const trimmed = value.trim();
  if (!trimmed) throw new UsageError(`${what} must not be empty`);
  return trimmed;
}

function jsonObject(flag: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`${flag} is not JSON: ${(error as Error).message}`, 'approvals');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${flag} must be a JSON object of the tool's arguments`, 'approvals');
  }
  return parsed as Record<string, unknown>;
}

function isTopic(value: string | undefined): value is HelpTopic {
  return (HELP_TOPICS as readonly (string | undefined)[]).includes(value);
}
