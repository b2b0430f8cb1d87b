import { telemetry } from './cli/instrument';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { SpanStatusCode } from '@opentelemetry/api';
import { resolve } from 'node:path';
import {
  BASE_ENV,
  MODEL_PRICES_ENV,
  OPERATOR_SIGNING_KEY_ENV,
  ConfigError,
  extendEnv,
  loadConfig,
  type BaseConfig,
  type ConfigOf,
  type Environment,
} from '@leash/config';
import { AGENT_VARIABLES, agentSetFromConfig } from '@leash/agents';
import { openBus, openEngines, storeFileOf, type Engines, type ProcessName } from '@leash/engines';
import { inSpan } from '@leash/telemetry';
import { parseCommand, UsageError, type CliCommand } from './cli/arguments';
import type { AuditCommand } from './cli/audit.command';
import type { DeploymentCommand } from './cli/deployment.command';
import type { McpCommand } from './cli/mcp.command';
import type { ReleaseCommand } from './cli/release.command';
import type { ReplayCommand } from './cli/replay.command';
import type { ReviewCommand } from './cli/review.command';
import type { RunsCommand } from './cli/runs.command';
import type { TaskCommand } from './cli/task.command';
import { processTerminal, type Terminal } from './cli/terminal';
import type { TenantCommand } from './cli/tenant.command';
import { REVIEWER_KEYS_ENV } from './cli/reviewer-keys';
import type { ReviewersCommand } from './cli/reviewers.command';

// Each command's module is loaded when that command runs (`await import`): a command
// does not pay for the others' dependencies (the services' modules among them).

/**
 * The variables the CLI reads: the engines', where reviewers' keys are, the
 * operators' key that signs releases, the model prices (a release's model
 * must have one) and the agents' folders (a release may name their tools).
 */
export const CLI_ENV = extendEnv(BASE_ENV, {
  ...REVIEWER_KEYS_ENV,
  ...OPERATOR_SIGNING_KEY_ENV,
  ...MODEL_PRICES_ENV,
  ...AGENT_VARIABLES,
});

type Command =
  | CliCommand
  | TaskCommand
  | AuditCommand
  | RunsCommand
  | TenantCommand
  | ReviewersCommand
  | DeploymentCommand
  | McpCommand
  | ReviewCommand
  | ReplayCommand
  | ReleaseCommand;

/*
 * `leash`: the operator's CLI (bin/leash). Each command opens the same
 * engines as the services (same variables, same defaults), does one thing,
 * and exits: 0 done, 1 failed or not acknowledged in time, 2 bad usage.
 */

export async function runCli(
  argv: readonly string[],
  env: Environment = process.env,
  terminal: Terminal = processTerminal,
): Promise<number> {
  let command: Command;
  try {
    command = await parseArgv(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    terminal.err(`leash: ${error.message}`);
    terminal.err(`Run: leash help${error.topic ? ` ${error.topic}` : ''}`);
    return 2;
  }
  if (command.kind === 'help') {
    terminal.out((await import('./cli/help')).helpText(command.topic));
    return 0;
  }
  // Pinning an agent folder's MCP tools needs its servers, not a running Leash.
  if (command.kind === 'mcp-pin') {
    return (await import('./cli/mcp.command')).runMcpPin(command, terminal, env);
  }
  // Keys are made before anything runs: no config, no engines.
  if (command.kind === 'gate-keys') {
    return (await import('./cli/deployment.command')).runGateKeys(command, terminal);
  }
  // On the embedded engines, a release is signed with the operators' key kept beside the store.
  const release = command.kind.startsWith('release-')
    ? await import('./cli/release.command')
    : undefined;
  if (release?.signs(command)) {
    env = (await import('./dev-signing-key')).withDevSigningKeys(env, ['operator']).env;
  }
  let config: ConfigOf<typeof CLI_ENV>;
  try {
    config = loadConfig(CLI_ENV, { env, subject: 'leash' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    terminal.err(error.message);
    return 2;
  }
  if (
    release?.signs(command) &&
    !config.LEASH_OPERATOR_SIGNING_KEY &&
    !config.LEASH_OPERATOR_SIGNING_KEY_FILE
  ) {
    terminal.err(`leash: ${release.OPERATOR_KEY_MISSING}`);
    return 2;
  }
  // A key pair is made on the reviewer's machine: no running Leash is needed.
  if (command.kind === 'reviewers-keygen') {
    return (await import('./cli/reviewers.command')).runReviewersKeygen(command, config, terminal);
  }
  if (command.kind === 'topics-provision') {
    const { runTopicsProvision } = await import('./cli/deployment.command');
    const { bus, where } = await openBus(config, 'leash-cli', { shortLived: true });
    try {
      return await runTopicsProvision(bus, where, terminal);
    } finally {
      await bus.close();
    }
  }
  const owner = ownerOf(command);
  const missing = missingEngineFile(config, owner);
  if (missing) {
    terminal.err(missing);
    return 1;
  }
  // Only `tenant time-zone` publishes through the store's outbox; relaying it would also
  // send the owning service's pending events, so no other command relays.
  // One span per command: a task it submits, a verdict or a kill it publishes, is traced from here.
  return inSpan(
    `leash ${argv
      .filter((arg) => !arg.startsWith('-'))
      .slice(0, 2)
      .join(' ')}`,
    { attributes: { 'leash.cli.command': command.kind } },
    async (span) => {
      const engines = await openEngines(config, {
        source: 'leash-cli',
        owner,
        relayOutbox: command.kind === 'tenant-time-zone',
        shortLived: true,
      });
      try {
        const code = await run(command, engines, terminal, config);
        span.setAttribute('process.exit.code', code);
        if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `exit ${code}` });
        return code;
      } finally {
        await engines.close();
      }
    },
  );
}

type EngineCommand = Exclude<
  Command,
  | { kind: 'help' }
  | { kind: 'reviewers-keygen' }
  | { kind: 'gate-keys' }
  | { kind: 'mcp-pin' }
  | { kind: 'topics-provision' }
>;

/**
 * The service whose store a command reads and writes. In one process every
 * service shares one store; with LEASH_STORE_DIR each owns its own file there.
 */
function ownerOf(command: EngineCommand): ProcessName {
  switch (command.kind) {
    case 'audit':
    case 'runs-search':
    case 'review-sample':
    case 'review-list':
    case 'review-score':
    case 'review-report':
    case 'review-promote':
    case 'replay':
      return 'audit';
    case 'tenant-time-zone':
      return 'budget';
    case 'task-submit':
    case 'task-watch':
    case 'release-create':
    case 'release-list':
    case 'release-show':
    case 'release-diff':
    case 'release-promote':
    case 'release-rollback':
    case 'release-status':
    case 'policy-diff':
      return 'planner';
    case 'kill-list':
    case 'kill':
    case 'resume':
      return 'policy';
    case 'approvals-list':
    case 'approvals-decide':
    case 'reviewers-add':
    case 'reviewers-invite':
    case 'reviewers-list':
    case 'reviewers-remove':
    case 'reviewers-revoke-key':
      return 'approvals';
  }
}

async function run(
  command: EngineCommand,
  engines: Engines,
  terminal: Terminal,
  config: ConfigOf<typeof CLI_ENV>,
): Promise<number> {
  const keys = config;
  if (isReleaseCommand(command)) {
    const { runReleaseCommand, openReleaseDesk } = await import('./cli/release.command');
    return runReleaseCommand(command, openReleaseDesk(engines, config), terminal);
  }
  switch (command.kind) {
    case 'audit':
      return (await import('./cli/audit.command')).runAuditCommand(
        command,
        engines.store,
        terminal,
      );
    case 'runs-search':
      return (await import('./cli/runs.command')).runRunsCommand(command, engines.store, terminal);
    case 'review-sample':
    case 'review-list':
    case 'review-score':
    case 'review-report':
    case 'review-promote':
      return (await import('./cli/review.command')).runReviewCommand(
        command,
        engines.store,
        agentSetFromConfig(config),
        terminal,
      );
    case 'replay':
      return (await import('./cli/replay.command')).runReplayCommand(
        command,
        engines.store,
        terminal,
      );
    case 'tenant-time-zone':
      return (await import('./cli/tenant.command')).runTenantCommand(
        command,
        engines.store,
        terminal,
      );
    case 'task-submit':
    case 'task-watch':
      return (await import('./cli/task.command')).runTaskCommand(command, engines, terminal);
    case 'kill-list':
      return (await import('./cli/control.command')).runKillList(engines.store, terminal);
    case 'kill':
    case 'resume':
      return (await import('./cli/control.command')).runControlCommand(
        engines.bus,
        command,
        terminal,
      );
    case 'approvals-list': {
      const { runApprovalsList } = await import('./cli/approvals.command');
      const { openApprovalsDesk } = await import('./cli/approvals-desk');
      return runApprovalsList(
        openApprovalsDesk(engines, agentSetFromConfig(config).tools),
        command,
        terminal,
      );
    }
    case 'approvals-decide': {
      const { runApprovalsDecide } = await import('./cli/approvals.command');
      const { openApprovalsDesk } = await import('./cli/approvals-desk');
      const { readReviewerKey, reviewerKeyFile } = await import('./cli/reviewer-keys');
      const keyFile = command.keyFile
        ? resolve(command.keyFile)
        : reviewerKeyFile(keys, command.reviewer);
      return runApprovalsDecide(
        openApprovalsDesk(engines, agentSetFromConfig(config).tools),
        command,
        terminal,
        () => readReviewerKey(keyFile, command.reviewer),
      );
    }
    case 'reviewers-add':
    case 'reviewers-list':
    case 'reviewers-remove':
    case 'reviewers-revoke-key': {
      const { runReviewersCommand } = await import('./cli/reviewers.command');
      const { reviewerDirectoryOf } = await import('./cli/approvals-desk');
      return runReviewersCommand(command, reviewerDirectoryOf(engines), terminal);
    }
    case 'reviewers-invite': {
      const { runReviewersInvite } = await import('./cli/reviewers.command');
      const { openInviteDesk } = await import('./cli/approvals-desk');
      return runReviewersInvite(command, openInviteDesk(engines, process.env), terminal);
    }
  }
}

function isReleaseCommand(
  command: EngineCommand,
): command is Exclude<ReleaseCommand, { kind: 'help' }> {
  return command.kind.startsWith('release-') || command.kind === 'policy-diff';
}

/** The command line as a command (its module loaded for it), or UsageError. */
async function parseArgv(argv: readonly string[], env: Environment): Promise<Command> {
  switch (argv[0]) {
    case 'task':
      return (await import('./cli/task.command')).parseTaskCommand(argv.slice(1));
    case 'audit':
      return (await import('./cli/audit.command')).parseAuditCommand(argv.slice(1));
    case 'runs':
      return (await import('./cli/runs.command')).parseRunsCommand(argv.slice(1));
    case 'tenant':
      return (await import('./cli/tenant.command')).parseTenantCommand(argv.slice(1), {
        issuedBy: defaultIssuer(env),
      });
    case 'reviewers':
      return (await import('./cli/reviewers.command')).parseReviewersCommand(argv.slice(1));
    case 'gate-keys':
    case 'topics':
      return (await import('./cli/deployment.command')).parseDeploymentCommand(argv);
    case 'mcp':
      return (await import('./cli/mcp.command')).parseMcpCommand(argv.slice(1), {
        issuedBy: defaultIssuer(env),
      });
    case 'review':
      return (await import('./cli/review.command')).parseReviewCommand(argv.slice(1), {
        issuedBy: defaultIssuer(env),
      });
    case 'replay':
      return (await import('./cli/replay.command')).parseReplayCommand(argv.slice(1));
    case 'release':
    case 'policy':
      return (await import('./cli/release.command')).parseReleaseCommand(argv, {
        issuedBy: defaultIssuer(env),
      });
    default:
      return parseCommand(argv, { issuedBy: defaultIssuer(env) });
  }
}

/**
 * On the embedded engines, a missing file means nothing runs against it:
 * say so instead of creating an empty bus and waiting for acknowledgements
 * that cannot come.
 */
function missingEngineFile(config: BaseConfig, owner: ProcessName): string | undefined {
  const files: string[] = [];
  if (config.LEASH_BUS === 'embedded') files.push(config.LEASH_BUS_FILE);
  if (config.LEASH_STORE === 'sqlite') files.push(storeFileOf(config, owner));
  for (const file of files) {
    if (file !== ':memory:' && !existsSync(resolve(file))) {
      const same =
        config.LEASH_STORE_DIR === undefined
          ? '(npm start) with the same LEASH_BUS_FILE / LEASH_STORE_FILE'
          : `with the same LEASH_STORE_DIR (the ${owner} service's store)`;
      return `leash: ${resolve(file)} does not exist: is Leash running ${same}, from the same directory?`;
    }
  }
  return undefined;
}

function defaultIssuer(env: Environment): string {
  let user = env.USER ?? env.LOGNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'operator';
    }
  }
  return `${user}@${hostname()}`;
}

/**
 * A reader that went away (`leash audit X | head -1`): stop quietly, as Unix
 * tools do on SIGPIPE, instead of dying on an unhandled EPIPE. Whatever the
 * command published is already on the bus; there is no one left to tell.
 */
function stopQuietlyOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** Runs the command line of this process and sets its exit code. */
export function main(): void {
  stopQuietlyOnClosedPipe();
  runCli(process.argv.slice(2))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (error: unknown) => {
        process.stderr.write(
          `leash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        process.exitCode = 1;
      },
    )
    // Spans still buffered go out now; a collector that does not answer delays the exit 2 s at most.
    .then(() =>
      Promise.race([
        telemetry.shutdown().catch(() => undefined),
        new Promise((done) => setTimeout(done, 2_000).unref()),
      ]),
    );
}

if (require.main === module) main();
