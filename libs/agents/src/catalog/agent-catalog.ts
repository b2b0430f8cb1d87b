import { isDeepStrictEqual } from 'node:util';
import { ConcurrencyError, DuplicateError, type Store, type Transaction } from '@leash/store';
import { AgentProfile, type AgentProfileInput } from '../agent-profile';
import type { PolicyVersion } from '../policy-document';
import type { ProfileSource } from '../profile-source';
import type { ReferenceAgent } from '../reference/reference-agent';
import type { SystemPrompt } from '../reference/scenario';
import { promptVersions } from '../releases/release.aggregates';
import { toolSnapshot, toolsetVersion, type ToolDefinition } from '../tool-definition';
import {
  catalogHeads,
  headId,
  policyVersions,
  profileVersions,
  toolSnapshots,
  type CatalogHead,
  type ProfileVersionDoc,
} from './catalog.aggregates';
import { diffLines, type LineDiff } from './line-diff';

/** Where gates look up the policy a profile names. */
export interface PolicySource {
  /** The given version, or the current one when `version` is absent. */
  policy(policyId: string, version?: number): Promise<PolicyVersion | undefined>;
}

/**
 * An event names a release of a known agent newer than any this store has
 * applied: the control topic that brings it is read beside the topic the
 * event came on, and may be a moment behind. Transient (the bus retries the
 * delivery), so a gate waits for the release instead of refusing the action.
 */
export class ReleaseNotYetKnownError extends Error {
  override readonly name = 'ReleaseNotYetKnownError';
  readonly transient = true as const;
  constructor(
    readonly agent: string,
    readonly release: number,
  ) {
    super(`release ${agent}@${release} is not in this catalog yet`);
  }
}

/** A request the catalog refuses: a broken policy, a version that does not exist, a changed version. */
export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length > 0 ? `${message}:\n  - ${problems.join('\n  - ')}` : message);
  }
}

export interface AgentCatalogOptions {
  /**
   * Checks a policy's text before it is published; returns the problems.
   * The policy service passes its Cedar parser; without it any text is kept
   * and a broken version denies every action when it is used.
   */
  readonly checkPolicy?: (cedar: string) => readonly string[];
  readonly now?: () => Date;
}

export interface PublishPolicyInput {
  readonly policyId: string;
  readonly cedar: string;
  readonly author: string;
  readonly description?: string;
}

export interface SeedReport {
  readonly profiles: readonly string[];
  readonly policies: readonly string[];
  readonly tools: readonly string[];
}

/**
 * Agent profiles, tool snapshots and policies, kept in the store by version.
 * Every version is kept; a head per profile and policy names the current one,
 * and moving it (a rollback) is one call. Versions never change once written,
 * so they are cached; heads are read on every lookup so a rollback made by
 * any process applies to the next decision.
 */
export class AgentCatalog implements ProfileSource, PolicySource {
  private readonly profileCache = new Map<string, AgentProfile>();
  private readonly policyCache = new Map<string, PolicyVersion>();
  private readonly now: () => Date;

  constructor(
    private readonly store: Store,
    private readonly options: AgentCatalogOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  // ---------------------------------------------------------------- profiles

  async profile(name: string, version?: number): Promise<AgentProfile | undefined> {
    const wanted = version ?? (await this.head('profile', name))?.current;
    if (wanted === undefined) return undefined;
    const key = `${name}@${wanted}`;
    const cached = this.profileCache.get(key);
    if (cached) return cached;
    const stored = await this.store.repository(profileVersions).get(key);
    if (!stored) {
      const head = version === undefined ? undefined : await this.head('profile', name);
      if (head && wanted > head.latest) throw new ReleaseNotYetKnownError(name, wanted);
      return undefined;
    }
    this.profileCache.set(key, stored.doc.profile);
    return stored.doc.profile;
  }

  /**
   * Keeps a profile version and makes it current. Publishing the same content
   * again is a no-op; different content under an existing version is refused.
   */
  async publishProfile(
    input: AgentProfileInput,
    author: string,
    tools: readonly ToolDefinition[] = [],
  ): Promise<AgentProfile> {
    const profile = AgentProfile.parse(input);
    const doc: ProfileVersionDoc = {
      name: profile.name,
      version: profile.version,
      profile,
      toolsVersion: toolsetVersion(tools.filter((t) => profile.tools.includes(t.name))),
      author,
      createdAt: this.now().toISOString(),
    };
    await this.store.transaction(async (tx) => {
      await this.keepProfile(tx, doc);
      await this.moveHead(tx, 'profile', profile.name, profile.version, author);
    });
    return profile;
  }

  /** Makes an earlier (or later) profile version current again. */
  async makeProfileCurrent(name: string, version: number, author: string): Promise<AgentProfile> {
    return this.store.transaction(async (tx) => {
      const stored = await tx.repository(profileVersions).get(`${name}@${version}`);
      if (!stored) throw new CatalogError(`profile ${name} has no version ${version}`);
      await this.moveHead(tx, 'profile', name, version, author);
      return stored.doc.profile;
    });
  }

  async profileVersions(name: string): Promise<ProfileVersionDoc[]> {
    const found = await this.store
      .repository(profileVersions)
      .find({ where: { name }, orderBy: 'version' });
    return found.map((s) => s.doc);
  }

  // ---------------------------------------------------------------- policies

  async policy(policyId: string, version?: number): Promise<PolicyVersion | undefined> {
    const wanted = version ?? (await this.head('policy', policyId))?.current;
    if (wanted === undefined) return undefined;
    const key = `${policyId}@${wanted}`;
    const cached = this.policyCache.get(key);
    if (cached) return cached;
    const stored = await this.store.repository(policyVersions).get(key);
    if (!stored) return undefined;
    this.policyCache.set(key, stored.doc);
    return stored.doc;
  }

  async currentPolicyVersion(policyId: string): Promise<number | undefined> {
    return (await this.head('policy', policyId))?.current;
  }

  /** Every version of a policy, oldest first. */
  async policyVersions(policyId: string): Promise<PolicyVersion[]> {
    const found = await this.store
      .repository(policyVersions)
      .find({ where: { policyId }, orderBy: 'version' });
    return found.map((s) => s.doc);
  }

  /** Checks and keeps a new version of a policy (latest + 1) and makes it current. */
  async publishPolicy(input: PublishPolicyInput): Promise<PolicyVersion> {
    const problems = this.options.checkPolicy?.(input.cedar) ?? [];
    if (problems.length > 0) {
      throw new CatalogError(`policy ${input.policyId} was not published`, problems);
    }
    return this.store.transaction(async (tx) => {
      const head = await tx.repository(catalogHeads).get(headId('policy', input.policyId));
      const version = (head?.doc.latest ?? 0) + 1;
      const doc: PolicyVersion = {
        policyId: input.policyId,
        version,
        cedar: input.cedar,
        description: input.description ?? '',
        author: input.author,
        createdAt: this.now().toISOString(),
      };
      await tx.repository(policyVersions).insert(doc);
      await this.moveHead(tx, 'policy', input.policyId, version, input.author);
      return doc;
    });
  }

  /**
   * The line diff from the current version to `next`: a candidate text, or
   * another stored version. Against nothing when the policy has no version yet.
   */
  async diffPolicy(policyId: string, next: string | { version: number }): Promise<LineDiff> {
    const current = await this.policy(policyId);
    let text: string;
    if (typeof next === 'string') {
      text = next;
    } else {
      const other = await this.policy(policyId, next.version);
      if (!other) throw new CatalogError(`policy ${policyId} has no version ${next.version}`);
      text = other.cedar;
    }
    return diffLines(current?.cedar ?? '', text);
  }

  /** Makes any kept version current again: a rollback (or roll-forward) in one call. */
  async makePolicyCurrent(
    policyId: string,
    version: number,
    author: string,
  ): Promise<PolicyVersion> {
    return this.store.transaction(async (tx) => {
      const stored = await tx.repository(policyVersions).get(`${policyId}@${version}`);
      if (!stored) throw new CatalogError(`policy ${policyId} has no version ${version}`);
      await this.moveHead(tx, 'policy', policyId, version, author);
      return stored.doc;
    });
  }

  // ------------------------------------------------------------------- tools

  /**
   * Keeps a snapshot of each tool at its version and returns the toolset
   * version. A definition that changed without a version bump is refused: the
   * versions in an audit record must name what actually ran.
   */
  async recordTools(tools: readonly ToolDefinition[]): Promise<string> {
    const changed: string[] = [];
    await this.store.transaction(async (tx) => {
      const repository = tx.repository(toolSnapshots);
      for (const tool of tools) {
        const hash = toolsetVersion([tool]);
        const stored = await repository.get(`${tool.name}@${tool.version}`);
        if (!stored) {
          await repository.insert({
            name: tool.name,
            version: tool.version,
            hash,
            snapshot: toolSnapshot(tool),
            recordedAt: this.now().toISOString(),
          });
        } else if (stored.doc.hash !== hash) {
          changed.push(
            `${tool.name} v${tool.version} changed since it was recorded: bump its version`,
          );
        }
      }
      if (changed.length > 0) throw new CatalogError('tool definitions were not recorded', changed);
    });
    return toolsetVersion(tools);
  }

  async toolSnapshot(name: string, version: number): Promise<Record<string, unknown> | undefined> {
    return (await this.store.repository(toolSnapshots).get(`${name}@${version}`))?.doc.snapshot;
  }

  // -------------------------------------------------------------------- seed

  /**
   * Puts the reference agents in the catalog. Safe to run on every start:
   * what exists is left as it is, so an operator's later versions and
   * rollbacks survive a restart.
   */
  async seed(
    agents: Iterable<ReferenceAgent & { readonly prompt?: SystemPrompt }>,
    author = 'seed',
  ): Promise<SeedReport> {
    const report = { profiles: [] as string[], policies: [] as string[], tools: [] as string[] };
    for (const agent of agents) {
      try {
        await this.seedAgent(agent, author, report);
      } catch (error) {
        // Two instances starting on one store race to seed; the loser finds the winner's versions.
        if (!(error instanceof DuplicateError || error instanceof ConcurrencyError)) throw error;
        await this.seedAgent(agent, author, report);
      }
    }
    return report;
  }

  private async seedAgent(
    agent: ReferenceAgent & { readonly prompt?: SystemPrompt },
    author: string,
    report: { profiles: string[]; policies: string[]; tools: string[] },
  ): Promise<void> {
    // The prompt text a seeded release runs, kept as a release's is: a later edit shows as a change.
    const prompt = agent.prompt;
    if (
      prompt &&
      !(await this.store.repository(promptVersions).get(`${prompt.id}@${prompt.version}`))
    ) {
      await this.store.transaction((tx) => tx.repository(promptVersions).insert(prompt));
    }
    for (const tool of agent.tools) {
      if (!(await this.toolSnapshot(tool.name, tool.version))) {
        report.tools.push(`${tool.name}@${tool.version}`);
      }
    }
    await this.recordTools(agent.tools);
    const { policyId, cedar, description } = agent.policy;
    if ((await this.head('policy', policyId)) === undefined) {
      const published = await this.publishPolicy({ policyId, cedar, description, author });
      report.policies.push(`${policyId}@${published.version}`);
    }
    const { name, version } = agent.profile;
    if (await this.store.repository(profileVersions).get(`${name}@${version}`)) return;
    const doc: ProfileVersionDoc = {
      name,
      version,
      profile: agent.profile,
      toolsVersion: toolsetVersion(agent.tools),
      author,
      createdAt: this.now().toISOString(),
    };
    await this.store.transaction(async (tx) => {
      await this.keepProfile(tx, doc);
      // Only a profile nobody has published yet becomes current by seeding.
      if (!(await tx.repository(catalogHeads).get(headId('profile', name)))) {
        await this.moveHead(tx, 'profile', name, version, author);
      }
    });
    report.profiles.push(`${name}@${version}`);
  }

  // ----------------------------------------------------------------- helpers

  private async head(kind: CatalogHead['kind'], name: string): Promise<CatalogHead | undefined> {
    return (await this.store.repository(catalogHeads).get(headId(kind, name)))?.doc;
  }

  private async keepProfile(tx: Transaction, doc: ProfileVersionDoc): Promise<void> {
    const repository = tx.repository(profileVersions);
    const stored = await repository.get(`${doc.name}@${doc.version}`);
    if (!stored) {
      await repository.insert(doc);
    } else if (!isDeepStrictEqual(stored.doc.profile, doc.profile)) {
      throw new CatalogError(
        `profile ${doc.name} v${doc.version} exists with different content: publish it as a new version`,
      );
    }
  }

  private async moveHead(
    tx: Transaction,
    kind: CatalogHead['kind'],
    name: string,
    version: number,
    author: string,
  ): Promise<void> {
    const repository = tx.repository(catalogHeads);
    const stored = await repository.get(headId(kind, name));
    const head: CatalogHead = {
      kind,
      name,
      current: version,
      latest: Math.max(stored?.doc.latest ?? 0, version),
      changedBy: author,
      changedAt: this.now().toISOString(),
    };
    if (stored) await repository.update(head, stored.version);
    else await repository.insert(head);
  }
}
