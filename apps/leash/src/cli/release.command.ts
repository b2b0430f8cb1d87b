import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ReleaseCatalog,
  ReleaseRoutingError,
  agentFileIn,
  canaryRouting,
  promoteRouting,
  rollbackRouting,
  agentSetFromConfig,
  loadAgentFolder,
  type AgentsConfig,
  type SystemPrompt,
  ReleaseFileError,
  diffReleases,
  draftRelease,
  loadReleaseFile,
  readReferencedTexts,
  type LoadedReleaseFile,
  renderReleaseDiff,
  shippedPrompt,
  toolsetVersion,
  releaseViewOf,
  signedReleaseEnvelope,
  type OperatorReleaseEvent,
  type ReleaseRouting,
  type ReleaseView,
  type ToolDefinition,
} from '@leash/agents';
import type { Bus } from '@leash/bus';
import { priceFor, type GateSigningKeyConfig, type PriceTable } from '@leash/config';
import type { ReleaseCreatedV1, ReleaseRoutedV1 } from '@leash/contracts';
import { policyVersions } from '@leash/agents';
import type { Engines } from '@leash/engines';
import { canaryReport } from '@leash/service-planner';
import { PolicyEvaluator } from '@leash/service-policy';
import type { Store } from '@leash/store';
import { DEFAULT_TIMEOUT_MS, UsageError } from './arguments';
import type { Terminal } from './terminal';
import type { ReleaseScore } from '../eval/release-score';

/*
 * `leash release ...` and `leash policy ...`: an agent's releases, made from
 * files, routed by promote (canary or full) and rollback. Every change is an
 * event on the control topic; each service applies it to its own catalog,
 * and the command waits until the planner's (the store it reads) has.
 */

export type ReleaseCommand =
  | { readonly kind: 'help'; readonly topic: 'release' }
  | {
      readonly kind: 'release-create';
      readonly agent: string;
      readonly file: string;
      /** Only the policy changes: `leash policy publish`. */
      readonly policyOnly: boolean;
      readonly by: string;
      readonly timeoutMs: number;
    }
  | { readonly kind: 'policy-diff'; readonly agent: string; readonly file: string }
  | { readonly kind: 'release-list'; readonly agent: string }
  | { readonly kind: 'release-show'; readonly agent: string; readonly release: number }
  | {
      readonly kind: 'release-diff';
      readonly agent: string;
      readonly from: number;
      readonly to: number;
    }
  | {
      readonly kind: 'release-promote';
      readonly agent: string;
      readonly release: number;
      /** undefined: --full. */
      readonly canary?: number;
      readonly reason: string;
      /** Past a worse golden-set score, with the reason (audited). */
      readonly force: boolean;
      readonly by: string;
      readonly timeoutMs: number;
    }
  | {
      readonly kind: 'release-rollback';
      readonly agent: string;
      readonly moveRunning: boolean;
      readonly reason: string;
      readonly by: string;
      readonly timeoutMs: number;
    }
  | { readonly kind: 'release-status'; readonly agent: string };

const AGENT_RELEASE = /^([a-z][a-z0-9-]{0,63})@([1-9][0-9]{0,8})$/;

function releaseRef(text: string | undefined, what: string): { agent: string; release: number } {
  const match = AGENT_RELEASE.exec(text?.trim() ?? '');
  if (!match)
    throw new UsageError(
      `${what} must be AGENT@N (e.g. support@2), got "${text ?? ''}"`,
      'release',
    );
  return { agent: match[1]!, release: Number(match[2]) };
}

/** `leash release ...` / `leash policy ...` (argv with the command name) as a command, or UsageError. */
export function parseReleaseCommand(
  argv: readonly string[],
  defaults: { readonly issuedBy: string },
): ReleaseCommand {
  const [group, verb, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        help: { type: 'boolean', short: 'h' },
        agent: { type: 'string' },
        file: { type: 'string' },
        by: { type: 'string' },
        reason: { type: 'string' },
        canary: { type: 'string' },
        full: { type: 'boolean' },
        'move-running': { type: 'boolean' },
        force: { type: 'boolean' },
        timeout: { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const message = (error as Error).message.split('. ')[0]!.replace(/\.$/, '');
    throw new UsageError(`${group} ${verb ?? ''}: ${message}`, 'release');
  }
  const { values, positionals } = parsed;
  if (values.help || verb === undefined || ['help', '--help', '-h'].includes(verb)) {
    return { kind: 'help', topic: 'release' };
  }
  const agent = () => {
    const name = values.agent?.trim();
    if (!name) throw new UsageError(`${group} ${verb} needs --agent A`, 'release');
    return name;
  };
  const file = () => {
    const path = values.file?.trim();
    if (!path) throw new UsageError(`${group} ${verb} needs --file F`, 'release');
    return path;
  };
  const by = values.by?.trim() || defaults.issuedBy;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.timeout !== undefined) {
    timeoutMs = Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new UsageError(`--timeout must be a positive number of milliseconds`, 'release');
    }
  }
  const key = `${group} ${verb}`;
  switch (key) {
    case 'release create':
      return {
        kind: 'release-create',
        agent: agent(),
        file: file(),
        policyOnly: false,
        by,
        timeoutMs,
      };
    case 'policy publish':
      return {
        kind: 'release-create',
        agent: agent(),
        file: file(),
        policyOnly: true,
        by,
        timeoutMs,
      };
    case 'policy diff':
      return { kind: 'policy-diff', agent: agent(), file: file() };
    case 'release list':
      return { kind: 'release-list', agent: agent() };
    case 'release status':
      return { kind: 'release-status', agent: agent() };
    case 'release show':
      return { kind: 'release-show', ...releaseRef(positionals[0], 'release show R') };
    case 'release diff': {
      const from = releaseRef(positionals[0], 'the first release');
      const to = releaseRef(positionals[1], 'the second release');
      if (from.agent !== to.agent) {
        throw new UsageError('release diff compares two releases of one agent', 'release');
      }
      return { kind: 'release-diff', agent: from.agent, from: from.release, to: to.release };
    }
    case 'release promote': {
      const ref = releaseRef(positionals[0], 'release promote R');
      if ((values.canary === undefined) === !values.full) {
        throw new UsageError('release promote needs --canary P or --full, one of them', 'release');
      }
      let canary: number | undefined;
      if (values.canary !== undefined) {
        canary = Number(values.canary.replace(/%$/, ''));
        if (!Number.isFinite(canary) || canary <= 0 || canary >= 100) {
          throw new UsageError(
            `--canary must be a share of new tasks above 0 and below 100 (percent), got "${values.canary}"; use --full for all`,
            'release',
          );
        }
      }
      if (values.force && !values.reason?.trim()) {
        throw new UsageError(
          'release promote --force needs --reason "why" (it is audited)',
          'release',
        );
      }
      return {
        kind: 'release-promote',
        ...ref,
        ...(canary !== undefined ? { canary } : {}),
        reason:
          values.reason?.trim() || (canary !== undefined ? `canary at ${canary}%` : 'promoted'),
        force: values.force ?? false,
        by,
        timeoutMs,
      };
    }
    case 'release rollback':
      return {
        kind: 'release-rollback',
        agent: agent(),
        moveRunning: values['move-running'] ?? false,
        reason: values.reason?.trim() || 'rolled back',
        by,
        timeoutMs,
      };
    default:
      throw new UsageError(`unknown command "${key}"`, 'release');
  }
}

/** What the release commands need. */
export interface ReleaseDesk {
  readonly store: Store;
  readonly bus: Bus;
  /** The operators' private key: every service applies only the release events it signed. */
  readonly operatorKey?: GateSigningKeyConfig;
  readonly prices: PriceTable;
  /** The policy service's Cedar checks: the problems with a text, empty when it compiles. */
  readonly checkPolicy: (cedar: string) => readonly string[];
  readonly tools: { tool(name: string): ToolDefinition | undefined };
  /** A release's golden-set score; undefined when its agent has no golden tasks. */
  readonly score?: (view: ReleaseView) => Promise<ReleaseScore | undefined>;
  /** Prompts the agents' folders ship: the text of a release seeded from a folder. */
  readonly shippedPrompt?: (id: string, version: string) => SystemPrompt | undefined;
  readonly now?: () => Date;
}

export async function runReleaseCommand(
  command: Exclude<ReleaseCommand, { kind: 'help' }>,
  desk: ReleaseDesk,
  terminal: Terminal,
): Promise<number> {
  const catalog = new ReleaseCatalog(desk.store, {
    shippedPrompt: desk.shippedPrompt ?? shippedPrompt,
  });
  try {
    if (signs(command) && !desk.operatorKey) throw new ReleaseRefusal(OPERATOR_KEY_MISSING);
    switch (command.kind) {
      case 'release-create':
        return await create(command, desk, catalog, terminal);
      case 'policy-diff':
        return await policyDiff(command, desk, catalog, terminal);
      case 'release-list':
        return await list(command.agent, catalog, terminal);
      case 'release-show':
        return await show(command.agent, command.release, catalog, terminal);
      case 'release-diff': {
        const [a, b] = await Promise.all([
          need(catalog, command.agent, command.from),
          need(catalog, command.agent, command.to),
        ]);
        for (const line of renderReleaseDiff(command.agent, diffReleases(a, b))) terminal.out(line);
        return 0;
      }
      case 'release-promote':
        return await promote(command, desk, catalog, terminal);
      case 'release-rollback':
        return await rollback(command, desk, catalog, terminal);
      case 'release-status':
        return await status(command.agent, desk, catalog, terminal);
    }
  } catch (error) {
    if (
      error instanceof ReleaseFileError ||
      error instanceof ReleaseRefusal ||
      error instanceof ReleaseRoutingError
    ) {
      terminal.err(`leash: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

/** Bad input found before anything was published. */
class ReleaseRefusal extends Error {}

/** True for the commands that publish, so sign: create (and policy publish), promote, rollback. */
export function signs(command: { readonly kind: string }): boolean {
  return ['release-create', 'release-promote', 'release-rollback'].includes(command.kind);
}

export const OPERATOR_KEY_MISSING =
  "a release or a routing change is signed with the operators' key, and none is given: set LEASH_OPERATOR_SIGNING_KEY_FILE (leash gate-keys --dir D --gate operator makes D/operator.key; give D/operator.pub to every service as LEASH_OPERATOR_PUBLIC_KEYS_FILE). Nothing was published.";

/** A release event signed with the operators' key (the command checked there is one). */
function signedEnvelope(event: OperatorReleaseEvent, desk: ReleaseDesk) {
  return signedReleaseEnvelope(event, desk.operatorKey!, {
    source: 'leash-cli',
    now: desk.now?.() ?? new Date(),
  });
}
async function need(catalog: ReleaseCatalog, agent: string, release: number): Promise<ReleaseView> {
  const view = await catalog.release(agent, release);
  if (view) return view;
  const known = (await catalog.releases(agent)).map((r) => r.release);
  throw new ReleaseRefusal(
    known.length > 0
      ? `${agent} has no release ${release}; its releases: ${known.join(', ')}`
      : `no agent "${agent}" in the catalog; agents: ${(await catalog.agents()).join(', ') || 'none'}`,
  );
}

async function routingOf(catalog: ReleaseCatalog, agent: string): Promise<ReleaseRouting> {
  const routing = await catalog.routing(agent);
  if (routing) return routing;
  throw new ReleaseRefusal(
    `no agent "${agent}" in the catalog; agents: ${(await catalog.agents()).join(', ') || 'none'}`,
  );
}

async function create(
  command: Extract<ReleaseCommand, { kind: 'release-create' }>,
  desk: ReleaseDesk,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const file = command.policyOnly ? policyFile(command.file) : loadReleaseFile(command.file);
  const routing = await catalog.routing(command.agent);
  const parent = routing ? await catalog.release(command.agent, routing.current) : undefined;
  if (command.policyOnly && !parent) {
    throw new ReleaseRefusal(
      `no agent "${command.agent}" in the catalog: create its first release with leash release create`,
    );
  }
  const policies = desk.store.repository(policyVersions);
  // A release made from an agent folder's agent.yaml may name the tools its tools.yaml defines.
  const path = resolve(command.file);
  const folder =
    command.policyOnly || agentFileIn(dirname(path)) !== path
      ? undefined
      : loadAgentFolder(dirname(path), desk.tools);
  const toolNamed = (name: string) =>
    folder?.tools.find((t) => t.name === name) ?? knownTool(desk, name);
  const created = await draftRelease({
    agent: command.agent,
    release: await catalog.nextRelease(command.agent),
    ...(parent ? { parent } : {}),
    file,
    author: command.by,
    now: desk.now?.() ?? new Date(),
    policyVersionOf: async (policyId, cedar) =>
      (await policies.find({ where: { policyId } })).find((p) => p.doc.cedar === cedar)?.doc
        .version,
    nextPolicyVersion: async (policyId) =>
      Math.max(0, ...(await policies.find({ where: { policyId } })).map((p) => p.doc.version)) + 1,
    toolsVersion: (names) => toolsetVersion(names.map(toolNamed)),
  });
  const problems = checkRelease(created, desk);
  if (problems.length > 0) throw new ReleaseFileError(command.file, problems);

  const view = releaseViewOf(created);
  for (const line of parent
    ? renderReleaseDiff(command.agent, diffReleases(parent, view))
    : [`${command.agent}: first release`]) {
    terminal.out(line);
  }
  if (parent && diffReleases(parent, view).unchanged) {
    terminal.err(`leash: nothing changes from release ${parent.release}: no release made`);
    return 2;
  }
  await desk.bus.publish(
    'control',
    signedEnvelope({ type: 'leash.releases.created.v1', data: created }, desk),
  );
  const outcome = await waitUntil(command.timeoutMs, async () => {
    const made = await catalog.release(command.agent, created.release);
    if (!made) return undefined;
    return made.createdAt === created.createdAt && made.author === created.author ? 'made' : 'lost';
  });
  if (outcome === 'made') {
    terminal.out(
      `made release ${command.agent}@${created.release}` +
        (routing
          ? `: it takes no tasks until leash release promote ${command.agent}@${created.release} --canary P (or --full)`
          : ': the agent is new, so it takes its tasks now'),
    );
    return 0;
  }
  if (outcome === 'lost') {
    terminal.err(
      `leash: another release ${command.agent}@${created.release} was made at the same time; nothing of yours was kept: run the command again`,
    );
    return 1;
  }
  terminal.err(
    `leash: published release ${command.agent}@${created.release}, but the planner did not apply it within ${command.timeoutMs} ms: is Leash running? It applies it when it starts.`,
  );
  return 1;
}

/** A Cedar file as a release file that changes only the policy. */
function policyFile(file: string): LoadedReleaseFile {
  const content = { policy: { file } };
  return { file, content, ...readReferencedTexts(content, file, process.cwd()) };
}

function knownTool(desk: ReleaseDesk, name: string): ToolDefinition {
  const tool = desk.tools.tool(name);
  if (!tool) throw new Error(`no tool "${name}" in this deployment`);
  return tool;
}

/** What the file cannot know alone: the model's price, the policy's compile. */
function checkRelease(created: ReleaseCreatedV1, desk: ReleaseDesk): string[] {
  const problems: string[] = [];
  const model = String(created.profile.model);
  if (!priceFor(desk.prices, model)) {
    problems.push(
      `model: "${model}" is not a model this deployment prices (LEASH_MODEL_PRICES has ${Object.keys(desk.prices).join(', ')}): the budget would refuse every call`,
    );
  }
  const fallback = (created.profile.fallbackModel as { model?: unknown } | undefined)?.model;
  if (fallback !== undefined && !priceFor(desk.prices, String(fallback))) {
    problems.push(
      `fallbackModel.model: "${String(fallback)}" is not a model this deployment prices (LEASH_MODEL_PRICES has ${Object.keys(desk.prices).join(', ')})`,
    );
  }
  for (const problem of desk.checkPolicy(created.policy.cedar)) problems.push(`policy: ${problem}`);
  return problems;
}

async function policyDiff(
  command: Extract<ReleaseCommand, { kind: 'policy-diff' }>,
  desk: ReleaseDesk,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const routing = await routingOf(catalog, command.agent);
  const current = await need(catalog, command.agent, routing.current);
  const cedar = policyFile(command.file).cedar!;
  const problems = desk.checkPolicy(cedar);
  const candidate: ReleaseView = { ...current, policy: { ...current.policy, cedar } };
  for (const line of renderReleaseDiff(command.agent, diffReleases(current, candidate))) {
    terminal.out(line.replace(` -> ${current.release}`, ' -> (file)'));
  }
  if (problems.length > 0) {
    terminal.err(`leash: ${command.file} does not compile:\n  - ${problems.join('\n  - ')}`);
    return 2;
  }
  return 0;
}

async function list(agent: string, catalog: ReleaseCatalog, terminal: Terminal): Promise<number> {
  const routing = await routingOf(catalog, agent);
  for (const view of await catalog.releases(agent)) {
    const marks = [
      view.release === routing.current ? 'current' : '',
      routing.canary?.release === view.release ? `canary ${routing.canary.percent}%` : '',
      view.seeded ? 'seeded' : '',
    ].filter(Boolean);
    terminal.out(
      `${agent}@${view.release}  ${view.createdAt}  ${view.author}${marks.length > 0 ? `  [${marks.join(', ')}]` : ''}  ${view.description}`,
    );
  }
  return 0;
}

async function show(
  agent: string,
  release: number,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const view = await need(catalog, agent, release);
  const p = view.profile;
  terminal.out(`release ${agent}@${release}${view.seeded ? ' (seeded)' : ''}`);
  terminal.out(
    `  made by ${view.author} at ${view.createdAt}${view.parent ? `, from @${view.parent}` : ''}`,
  );
  if (view.description) terminal.out(`  ${view.description}`);
  terminal.out(`  model:  ${p.model}`);
  terminal.out(`  prompt: ${view.prompt.id} v${view.prompt.version}`);
  terminal.out(`  policy: ${view.policy.id} v${view.policy.version ?? '(current)'}`);
  terminal.out(`  tools:  ${p.tools.join(', ')} (toolset ${view.toolsVersion})`);
  terminal.out(`  caps:   ${JSON.stringify(p.caps)}`);
  terminal.out(`  canary thresholds: ${JSON.stringify(view.canary)}`);
  if (view.prompt.text) {
    terminal.out('  prompt text:');
    for (const line of view.prompt.text.split('\n')) terminal.out(`    ${line}`);
  }
  return 0;
}

async function promote(
  command: Extract<ReleaseCommand, { kind: 'release-promote' }>,
  desk: ReleaseDesk,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const candidate = await need(catalog, command.agent, command.release);
  const routing = await routingOf(catalog, command.agent);
  let reason = command.reason;
  if (desk.score && command.release !== routing.current) {
    // A release that does worse on the golden set than the current one is not promoted by mistake.
    const current = await need(catalog, command.agent, routing.current);
    const [mine, theirs] = await Promise.all([desk.score(candidate), desk.score(current)]);
    if (mine && theirs) {
      const line = `golden set of ${command.agent}: @${mine.release} passes ${mine.passed} of ${mine.total}, current @${theirs.release} ${theirs.passed} of ${theirs.total}`;
      terminal.out(
        line +
          (mine.failed.length > 0 ? ` (@${mine.release} fails ${mine.failed.join(', ')})` : ''),
      );
      if (mine.passed / mine.total < theirs.passed / theirs.total) {
        if (!command.force) {
          throw new ReleaseRefusal(
            `${command.agent}@${command.release} does worse on the golden set than the current release: nothing changed. To promote it anyway: --force --reason "why"`,
          );
        }
        reason = `${reason} (forced past the golden set: ${line})`;
      }
    }
  }
  const change = { by: command.by, at: (desk.now?.() ?? new Date()).toISOString(), reason };
  const routed =
    command.canary !== undefined
      ? canaryRouting(routing, command.release, command.canary, change)
      : promoteRouting(routing, command.release, change);
  return publishRouting(routed, command.timeoutMs, desk, catalog, terminal);
}

async function rollback(
  command: Extract<ReleaseCommand, { kind: 'release-rollback' }>,
  desk: ReleaseDesk,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const routing = await routingOf(catalog, command.agent);
  const routed = rollbackRouting(routing, {
    moveRunning: command.moveRunning,
    reason: command.reason,
    by: command.by,
    at: (desk.now?.() ?? new Date()).toISOString(),
  });
  return publishRouting(routed, command.timeoutMs, desk, catalog, terminal);
}

async function publishRouting(
  routed: ReleaseRoutedV1,
  timeoutMs: number,
  desk: ReleaseDesk,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const started = Date.now();
  await desk.bus.publish(
    'control',
    signedEnvelope({ type: 'leash.releases.routed.v1', data: routed }, desk),
  );
  const applied = await waitUntil(timeoutMs, async () => {
    const last = (await catalog.routing(routed.agent))?.last;
    return last && last.at === routed.at && last.by === routed.by && last.change === routed.change
      ? true
      : undefined;
  });
  const now = routed.canary
    ? `@${routed.current} current, @${routed.canary.release} takes ${routed.canary.percent}% of new tasks`
    : `@${routed.current} takes every new task`;
  if (!applied) {
    terminal.err(
      `leash: published the ${routed.change} of ${routed.agent}, but the planner did not apply it within ${timeoutMs} ms: is Leash running? It applies it when it starts. (A change made while the routing changed is refused: see leash release status.)`,
    );
    return 1;
  }
  terminal.out(
    `${routed.change} of ${routed.agent}@${routed.release} applied in ${Date.now() - started} ms: ${now}`,
  );
  return 0;
}

async function status(
  agent: string,
  desk: ReleaseDesk,
  catalog: ReleaseCatalog,
  terminal: Terminal,
): Promise<number> {
  const routing = await routingOf(catalog, agent);
  terminal.out(`${agent}: current @${routing.current}`);
  if (routing.canary) {
    terminal.out(
      `  canary @${routing.canary.release} takes ${routing.canary.percent}% of new tasks since ${routing.canary.since}`,
    );
    const report = await canaryReport({ store: desk.store, releases: catalog }, agent);
    if (report) {
      const limits = (await catalog.release(agent, routing.canary.release))?.canary;
      const row = (name: string, f: typeof report.canaryFigures) =>
        `  ${name.padEnd(10)} ${String(f.tasks).padStart(6)} tasks  failed ${pct(f.failureRate)}  denied ${pct(f.denialRate)}  escalated ${pct(f.escalationRate)}  $${(f.costPerTaskUsdMicros / 1e6).toFixed(4)}/task  p95 ${Math.round(f.p95DurationMs)} ms`;
      terminal.out(row(`@${routing.canary.release}`, report.canaryFigures));
      terminal.out(row(`@${routing.current}`, report.baselineFigures));
      if (
        limits &&
        (report.canaryFigures.tasks < limits.minSample ||
          report.baselineFigures.tasks < limits.minSample)
      ) {
        terminal.out(`  compared once each side has ${limits.minSample} finished tasks`);
      } else if (report.breaches.length > 0) {
        terminal.out(
          `  worse than the baseline: ${report.breaches.join('; ')} (the planner rolls it back)`,
        );
      } else {
        terminal.out('  within its thresholds');
      }
    }
  } else {
    terminal.out('  no canary');
  }
  if (routing.last) {
    terminal.out(
      `  last change: ${routing.last.change} of @${routing.last.release} by ${routing.last.by} at ${routing.last.at}: ${routing.last.reason}`,
    );
  }
  if (routing.history.length > 0) {
    terminal.out(`  rollback goes to @${routing.history[routing.history.length - 1]}`);
  }
  return 0;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`.padStart(6);
}

/** Polls until `check` answers, or the time is up (undefined). */
async function waitUntil<T>(
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await check();
    if (answer !== undefined) return answer;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The desk on the CLI's engines: the policy service's Cedar checks, the tools of the agents the config names. */
export function openReleaseDesk(
  engines: Engines,
  config: AgentsConfig & {
    readonly LEASH_MODEL_PRICES: PriceTable;
    readonly LEASH_OPERATOR_SIGNING_KEY?: GateSigningKeyConfig;
    readonly LEASH_OPERATOR_SIGNING_KEY_FILE?: GateSigningKeyConfig;
  },
): ReleaseDesk {
  const evaluator = new PolicyEvaluator();
  const agents = agentSetFromConfig(config);
  const operatorKey = config.LEASH_OPERATOR_SIGNING_KEY ?? config.LEASH_OPERATOR_SIGNING_KEY_FILE;
  return {
    store: engines.store,
    bus: engines.bus,
    ...(operatorKey ? { operatorKey } : {}),
    prices: config.LEASH_MODEL_PRICES,
    checkPolicy: (cedar) => evaluator.check(cedar),
    tools: agents.tools,
    shippedPrompt: agents.prompt,
    // The golden set runs in this process on temp engines; loaded only when a promote needs it.
    score: async (view) => (await import('../eval/release-score')).goldenScoreOf(view),
  };
}
