import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ReviewerDirectoryError, type ReviewerDirectory } from '@leash/service-approvals/gate';
import { verdictKeyId } from '@leash/signing';
import { DEMO_TENANT } from '../demo/demo-reviewers';
import { UsageError } from './arguments';
import {
  KeyFileError,
  reviewerKeyFile,
  writeReviewerKey,
  type KeyLocationConfig,
} from './reviewer-keys';
import type { Terminal } from './terminal';

/*
 * `leash reviewers`: the reviewer directory of the approvals service, and
 * the reviewers' own keys. A verdict counts only signed with a key the
 * directory holds for its reviewer (or by a trusted front end).
 */

export type ReviewersCommand =
  | { readonly kind: 'help'; readonly topic: 'reviewers' }
  | {
      readonly kind: 'reviewers-keygen';
      readonly reviewer: string;
      readonly keyFile?: string;
      readonly force: boolean;
    }
  | {
      readonly kind: 'reviewers-add';
      readonly tenantId: string;
      readonly reviewer: string;
      readonly groups: readonly string[];
      readonly tools?: readonly string[];
      readonly displayName?: string;
      /** As given: PEM, base64, or @file. */
      readonly publicKey?: string;
    }
  | {
      readonly kind: 'reviewers-invite';
      readonly tenantId: string;
      readonly reviewer: string;
      readonly groups: readonly string[];
      readonly displayName?: string;
    }
  | { readonly kind: 'reviewers-list'; readonly tenantId?: string }
  | { readonly kind: 'reviewers-remove'; readonly tenantId: string; readonly reviewer: string }
  | {
      readonly kind: 'reviewers-revoke-key';
      readonly tenantId: string;
      readonly reviewer: string;
      readonly keyId?: string;
    };

export const REVIEWERS_HELP = `leash reviewers keygen --reviewer R [--key-file F] [--force]
leash reviewers add --reviewer R --group G [--group G2] --public-key (PEM | BASE64 | @FILE)
                    [--tool T] [--name "..."] [--tenant T]
leash reviewers invite R --group G [--group G2] [--name "..."] [--tenant T]
leash reviewers list [--tenant T]
leash reviewers remove --reviewer R [--tenant T]
leash reviewers revoke-key --reviewer R [--key-id K] [--tenant T]

The approvals service accepts a verdict only with proof of who sent it: signed
with the reviewer's own Ed25519 key, whose public half is in the reviewer
directory, or by a trusted front end (LEASH_REVIEWER_FRONT_ENDS).

keygen makes a key pair on this machine: the private key in F (default
<keys dir>/R.key, mode 0600; never printed) and the public key beside it in
R.pub, and prints the public key and the add command that registers it.
The keys dir is LEASH_REVIEWER_KEYS_DIR, by default reviewer-keys beside
LEASH_STORE_FILE (where npm start writes the demo reviewers' keys), or
~/.leash/reviewer-keys when the store is not SQLite.

add puts a reviewer in the directory of tenant T (default "${DEMO_TENANT}"), or adds
groups and a key to one (and makes them active again). Without a key the
reviewer can answer only through a trusted front end. A revoked key is
refused: make a new one.
invite adds R to the groups as add does (no key needed) and prints a link
to the reviewers' web inbox that signs R in, once, within
LEASH_INBOX_INVITE_TTL_MS (default a day). Only a hash of it is stored; send
it to R by a channel you trust. The link's address is LEASH_INBOX_PUBLIC_URL,
else the one npm start wrote beside the store, else http://127.0.0.1:4180.
list shows each reviewer with their groups, tools and keys.
remove keeps the reviewer for the audit but makes them inactive and revokes
every key they have. revoke-key revokes one key (--key-id, as list shows it)
or all of the reviewer's keys. Both hold for every approvals process from
the next verdict on: the directory is read at each verdict.
`;

function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: readonly string[],
  options: O,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    const message = (error as Error).message.split('. ')[0].replace(/\.$/, '');
    throw new UsageError(`${command}: ${message}`, 'reviewers');
  }
}

function required(command: string, flag: string, value: string | undefined): string {
  const trimmed = value?.trim();
  if (!trimmed) throw new UsageError(`${command} needs --${flag}`, 'reviewers');
  return trimmed;
}

function names(flag: string, values: readonly string[] | undefined): string[] {
  return (values ?? []).map((v) => {
    const trimmed = v.trim();
    if (!trimmed) throw new UsageError(`--${flag} must not be empty`, 'reviewers');
    return trimmed;
  });
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** `leash reviewers ...` (argv without `reviewers`) as a command, or UsageError. */
export function parseReviewersCommand(argv: readonly string[]): ReviewersCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    return { kind: 'help', topic: 'reviewers' };
  }
  const command = `reviewers ${sub}`;
  switch (sub) {
    case 'keygen': {
      const { values } = parse(command, rest, {
        ...HELP,
        reviewer: { type: 'string' },
        'key-file': { type: 'string' },
        force: { type: 'boolean' },
      });
      if (values.help) return { kind: 'help', topic: 'reviewers' };
      const keyFile = values['key-file']?.trim();
      return {
        kind: 'reviewers-keygen',
        reviewer: required(command, 'reviewer R', values.reviewer),
        ...(keyFile ? { keyFile } : {}),
        force: values.force ?? false,
      };
    }
    case 'add': {
      const { values } = parse(command, rest, {
        ...HELP,
        reviewer: { type: 'string' },
        tenant: { type: 'string' },
        group: { type: 'string', multiple: true },
        tool: { type: 'string', multiple: true },
        name: { type: 'string' },
        'public-key': { type: 'string' },
      });
      if (values.help) return { kind: 'help', topic: 'reviewers' };
      const tools = values.tool !== undefined ? names('tool', values.tool) : undefined;
      const publicKey = values['public-key']?.trim();
      if (values['public-key'] !== undefined && !publicKey) {
        throw new UsageError('--public-key must not be empty', 'reviewers');
      }
      return {
        kind: 'reviewers-add',
        tenantId: values.tenant?.trim() || DEMO_TENANT,
        reviewer: required(command, 'reviewer R', values.reviewer),
        groups: names('group', values.group),
        ...(tools !== undefined ? { tools } : {}),
        ...(values.name?.trim() ? { displayName: values.name.trim() } : {}),
        ...(publicKey ? { publicKey } : {}),
      };
    }
    case 'invite': {
      // The name may come first, as in `leash reviewers invite lee@acme.example --group finance`.
      const positional = rest[0] !== undefined && !rest[0].startsWith('-') ? rest[0] : undefined;
      const { values } = parse(command, positional !== undefined ? rest.slice(1) : rest, {
        ...HELP,
        reviewer: { type: 'string' },
        tenant: { type: 'string' },
        group: { type: 'string', multiple: true },
        name: { type: 'string' },
      });
      if (values.help) return { kind: 'help', topic: 'reviewers' };
      const groups = names('group', values.group);
      if (groups.length === 0) throw new UsageError(`${command} needs --group G`, 'reviewers');
      return {
        kind: 'reviewers-invite',
        tenantId: values.tenant?.trim() || DEMO_TENANT,
        reviewer: required(
          command,
          'reviewer R (or the name first)',
          positional ?? values.reviewer,
        ),
        groups,
        ...(values.name?.trim() ? { displayName: values.name.trim() } : {}),
      };
    }
    case 'list': {
      const { values } = parse(command, rest, { ...HELP, tenant: { type: 'string' } });
      if (values.help) return { kind: 'help', topic: 'reviewers' };
      const tenantId = values.tenant?.trim();
      return { kind: 'reviewers-list', ...(tenantId ? { tenantId } : {}) };
    }
    case 'remove': {
      const { values } = parse(command, rest, {
        ...HELP,
        reviewer: { type: 'string' },
        tenant: { type: 'string' },
      });
      if (values.help) return { kind: 'help', topic: 'reviewers' };
      return {
        kind: 'reviewers-remove',
        tenantId: values.tenant?.trim() || DEMO_TENANT,
        reviewer: required(command, 'reviewer R', values.reviewer),
      };
    }
    case 'revoke-key': {
      const { values } = parse(command, rest, {
        ...HELP,
        reviewer: { type: 'string' },
        tenant: { type: 'string' },
        'key-id': { type: 'string' },
      });
      if (values.help) return { kind: 'help', topic: 'reviewers' };
      const keyId = values['key-id']?.trim();
      return {
        kind: 'reviewers-revoke-key',
        tenantId: values.tenant?.trim() || DEMO_TENANT,
        reviewer: required(command, 'reviewer R', values.reviewer),
        ...(keyId ? { keyId } : {}),
      };
    }
    default:
      throw new UsageError(
        `unknown reviewers command "${sub}": use keygen, add, invite, list, remove or revoke-key`,
        'reviewers',
      );
  }
}

/** keygen: needs no running Leash, only where keys go. */
export function runReviewersKeygen(
  command: Extract<ReviewersCommand, { kind: 'reviewers-keygen' }>,
  location: KeyLocationConfig,
  terminal: Terminal,
): number {
  const keyFile = command.keyFile
    ? resolve(command.keyFile)
    : reviewerKeyFile(location, command.reviewer);
  let written;
  try {
    written = writeReviewerKey(keyFile, { overwrite: command.force });
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    terminal.err(`leash reviewers keygen: ${error.message}`);
    return 1;
  }
  terminal.out(
    `wrote the private key of ${command.reviewer} to ${written.keyFile} (mode 0600; it is never printed: keep it to yourself)`,
  );
  terminal.out(`public key ${written.keyId}, also in ${written.publicKeyFile}:`);
  terminal.out(`  ${written.publicKey}`);
  terminal.out('register it (on a machine that reaches the store), e.g.:');
  terminal.out(
    `  leash reviewers add --reviewer ${command.reviewer} --group G --public-key @${written.publicKeyFile} [--tenant T]`,
  );
  if (command.keyFile) {
    terminal.out(
      `and sign with it: leash approvals approve ID --reviewer ${command.reviewer} --key-file ${written.keyFile}`,
    );
  }
  return 0;
}

/** add, list, remove, revoke-key: on the approvals service's store. */
export async function runReviewersCommand(
  command: Exclude<
    ReviewersCommand,
    { kind: 'help' } | { kind: 'reviewers-keygen' } | { kind: 'reviewers-invite' }
  >,
  directory: ReviewerDirectory,
  terminal: Terminal,
): Promise<number> {
  const name = command.kind.replace('reviewers-', 'reviewers ');
  try {
    switch (command.kind) {
      case 'reviewers-list':
        return await list(directory, command.tenantId, terminal);
      case 'reviewers-add':
        return await add(directory, command, terminal);
      case 'reviewers-remove': {
        const removed = await directory.remove(command.tenantId, command.reviewer);
        if (!removed) {
          terminal.err(
            `leash ${name}: no reviewer ${command.reviewer} in tenant ${command.tenantId}`,
          );
          return 1;
        }
        terminal.out(
          `removed ${command.reviewer} from tenant ${command.tenantId}: inactive, every key revoked; ` +
            'their verdicts are refused from the next one on',
        );
        return 0;
      }
      case 'reviewers-revoke-key': {
        const revoked = await directory.revokeKey(
          command.tenantId,
          command.reviewer,
          command.keyId,
        );
        terminal.out(
          `revoked ${revoked.join(', ')} of ${command.reviewer} (tenant ${command.tenantId}); ` +
            'verdicts signed with it are refused from the next one on',
        );
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof ReviewerDirectoryError || error instanceof KeyFileError) {
      terminal.err(`leash ${name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

async function add(
  directory: ReviewerDirectory,
  command: Extract<ReviewersCommand, { kind: 'reviewers-add' }>,
  terminal: Terminal,
): Promise<number> {
  const existing = await directory.get(command.tenantId, command.reviewer);
  if (!existing && command.groups.length === 0) {
    terminal.err(
      `leash reviewers add: ${command.reviewer} is new in tenant ${command.tenantId}: name at least one --group G`,
    );
    return 1;
  }
  let publicKey: string | undefined;
  if (command.publicKey !== undefined) {
    try {
      publicKey = publicKeyText(command.publicKey);
      verdictKeyId(publicKey);
    } catch (error) {
      terminal.err(`leash reviewers add: --public-key: ${(error as Error).message}`);
      return 1;
    }
  }
  const { reviewer, keyId } = await directory.add({
    tenantId: command.tenantId,
    reviewer: command.reviewer,
    groups: command.groups,
    ...(command.tools !== undefined ? { tools: command.tools } : {}),
    ...(command.displayName !== undefined ? { displayName: command.displayName } : {}),
    ...(publicKey !== undefined ? { publicKey } : {}),
  });
  const active = reviewer.keys.filter((k) => k.revokedAt === undefined).length;
  terminal.out(
    `${existing ? 'updated' : 'added'} ${reviewer.reviewer} in tenant ${reviewer.tenantId}: ` +
      `groups ${reviewer.groups.join(', ')}` +
      (reviewer.tools ? `; tools ${reviewer.tools.join(', ')}` : '') +
      (keyId ? `; key ${keyId}` : '') +
      `; ${active} active key${active === 1 ? '' : 's'}` +
      (active === 0 ? ' (answers only through a trusted front end)' : ''),
  );
  return 0;
}

async function list(
  directory: ReviewerDirectory,
  tenantId: string | undefined,
  terminal: Terminal,
): Promise<number> {
  const all = await directory.list(tenantId);
  if (all.length === 0) {
    terminal.out(`no reviewers${tenantId ? ` in tenant ${tenantId}` : ''}`);
    return 0;
  }
  const sorted = [...all].sort(
    (a, b) => a.tenantId.localeCompare(b.tenantId) || a.reviewer.localeCompare(b.reviewer),
  );
  for (const r of sorted) {
    terminal.out(
      `${r.reviewer}  tenant ${r.tenantId}  groups ${r.groups.join(', ')}` +
        (r.tools ? `  tools ${r.tools.join(', ')}` : '') +
        (r.active ? '' : '  REMOVED'),
    );
    if (r.keys.length === 0) terminal.out('  no key: answers only through a trusted front end');
    for (const key of r.keys) {
      terminal.out(
        `  key ${verdictKeyId(key.publicKey)}` +
          (key.addedAt ? ` added ${key.addedAt}` : '') +
          (key.revokedAt ? ` REVOKED ${key.revokedAt}` : ''),
      );
    }
  }
  return 0;
}

/** --public-key's value: the key itself, or @file holding it. */
function publicKeyText(value: string): string {
  if (!value.startsWith('@')) return value;
  const file = resolve(value.slice(1));
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyFileError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** What `reviewers invite` needs besides the directory: where invites are kept, and the inbox's address. */
export interface InviteDesk {
  readonly directory: ReviewerDirectory;
  createInvite(tenantId: string, reviewer: string): Promise<{ token: string; expiresAt: string }>;
  readonly inboxUrl: string;
}

export async function runReviewersInvite(
  command: Extract<ReviewersCommand, { kind: 'reviewers-invite' }>,
  desk: InviteDesk,
  terminal: Terminal,
): Promise<number> {
  try {
    const { reviewer } = await desk.directory.add({
      tenantId: command.tenantId,
      reviewer: command.reviewer,
      groups: command.groups,
      ...(command.displayName !== undefined ? { displayName: command.displayName } : {}),
    });
    const invite = await desk.createInvite(command.tenantId, command.reviewer);
    terminal.out(
      `${reviewer.reviewer} is a reviewer of tenant ${reviewer.tenantId} in ${reviewer.groups.join(', ')}`,
    );
    terminal.out(`one-time sign-in link for ${reviewer.reviewer} (until ${invite.expiresAt}):`);
    terminal.out(`  ${desk.inboxUrl}/signin?token=${invite.token}`);
    terminal.out('It signs them in to the inbox once; send it by a channel you trust.');
    return 0;
  } catch (error) {
    if (!(error instanceof ReviewerDirectoryError)) throw error;
    terminal.err(`leash reviewers invite: ${error.message}`);
    return 1;
  }
}
