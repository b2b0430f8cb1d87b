import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { CanaryThresholds, ReleaseCreatedV1, ReleaseRoutedV1 } from '@leash/contracts';
import { CanaryThresholds as Thresholds } from '@leash/contracts';
import { ConcurrencyError, DuplicateError, type Store, type Transaction } from '@leash/store';
import { AgentProfile } from '../agent-profile';
import { CatalogError } from '../catalog/agent-catalog';
import {
  catalogHeads,
  headId,
  policyVersions,
  profileVersions,
  type CatalogHead,
} from '../catalog/catalog.aggregates';
import type { SystemPrompt } from '../reference/scenario';
import { takesCanary } from './canary-split';
import {
  promptVersions,
  releaseRoutes,
  releases,
  type ReleaseDoc,
  type ReleaseRouteDoc,
} from './release.aggregates';

/** One release as an operator reads it: everything it pins. */
export interface ReleaseView {
  readonly agent: string;
  readonly release: number;
  readonly parent?: number;
  readonly description: string;
  readonly author: string;
  readonly createdAt: string;
  readonly profile: AgentProfile;
  /** The text is absent only for a seeded release whose prompt this process does not ship. */
  readonly prompt: { readonly id: string; readonly version: string; readonly text?: string };
  readonly policy: { readonly id: string; readonly version?: number; readonly cedar?: string };
  readonly toolsVersion: string;
  readonly canary: CanaryThresholds;
  /** Put in the catalog by a service's seed, not by `leash release create`. */
  readonly seeded: boolean;
}

/** Which releases take an agent's new tasks. */
export interface ReleaseRouting {
  readonly agent: string;
  readonly current: number;
  readonly canary?: { readonly release: number; readonly percent: number; readonly since: string };
  readonly history: readonly number[];
  /** The last change, absent while the agent runs the release it was seeded with. */
  readonly last?: Pick<
    ReleaseRouteDoc,
    'change' | 'release' | 'reason' | 'by' | 'at' | 'moveRunning'
  >;
}

/** What applying a release event did. */
export type ReleaseApplied =
  | { readonly outcome: 'applied' | 'unchanged' }
  | { readonly outcome: 'refused'; readonly reason: string };

export interface ReleaseCatalogOptions {
  /** Prompts shipped as code (the reference agents'), for releases made by seeding. */
  readonly shippedPrompt?: (id: string, version: string) => SystemPrompt | undefined;
}

/** The view a release will have once made, to diff against before it is. */
export function releaseViewOf(created: ReleaseCreatedV1): ReleaseView {
  return {
    agent: created.agent,
    release: created.release,
    ...(created.parent !== undefined ? { parent: created.parent } : {}),
    description: created.description,
    author: created.author,
    createdAt: created.createdAt,
    profile: AgentProfile.parse(created.profile),
    prompt: created.prompt,
    policy: { id: created.policy.id, version: created.policy.version, cedar: created.policy.cedar },
    toolsVersion: created.toolsVersion,
    canary: created.canary,
    seeded: false,
  };
}

/** SHA-256 of a release event's content, its signature aside: one release, however often it is applied. */
export function releaseContentHash(created: ReleaseCreatedV1): string {
  const { proof: _signature, ...content } = created;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

/**
 * The releases of each agent and which of them take new tasks, kept in one
 * service's store. Every service applies the same release events from the
 * control topic in the same order, so each store holds the same releases and
 * routing; what conflicts (two releases made under one number) is refused the
 * same way everywhere.
 */
export class ReleaseCatalog {
  constructor(
    private readonly store: Store,
    private readonly options: ReleaseCatalogOptions = {},
  ) {}

  // ----------------------------------------------------------------- apply

  async applyCreated(created: ReleaseCreatedV1): Promise<ReleaseApplied> {
    return this.refusing(() => this.store.transaction((tx) => this.keepRelease(tx, created)));
  }

  async applyRouted(routed: ReleaseRoutedV1): Promise<ReleaseApplied> {
    return this.refusing(() =>
      this.store.transaction(async (tx) => {
        const wanted = [routed.current, ...(routed.canary ? [routed.canary.release] : [])];
        for (const release of wanted) {
          if (!(await tx.repository(profileVersions).get(`${routed.agent}@${release}`))) {
            throw new CatalogError(`${routed.agent} has no release ${release}`);
          }
        }
        const doc: ReleaseRouteDoc = {
          agent: routed.agent,
          current: routed.current,
          ...(routed.canary ? { canary: routed.canary } : {}),
          history: routed.history,
          change: routed.change,
          release: routed.release,
          moveRunning: routed.moveRunning,
          reason: routed.reason,
          by: routed.by,
          at: routed.at,
        };
        const routes = tx.repository(releaseRoutes);
        const stored = await routes.get(routed.agent);
        if (stored && isDeepStrictEqual(stored.doc, doc)) return { outcome: 'unchanged' as const };
        // The canary watch's change may only stop the canary it names: it never installs or moves a release.
        if (
          routed.change === 'auto-rollback' &&
          (!stored?.doc.canary ||
            stored.doc.canary.release !== routed.release ||
            routed.canary !== undefined ||
            routed.current !== stored.doc.current ||
            !isDeepStrictEqual(routed.history, stored.doc.history))
        ) {
          throw new CatalogError(
            `the automatic rollback of ${routed.agent}@${routed.release} does not only stop that canary: nothing changed`,
          );
        }
        const from = stored?.doc.at ?? '';
        if (routed.basedOn !== undefined && routed.basedOn !== from) {
          throw new CatalogError(
            `the ${routed.change} of ${routed.agent}@${routed.release} was made from a routing that has changed since` +
              (stored
                ? ` (${stored.doc.change} of @${stored.doc.release} by ${stored.doc.by} at ${stored.doc.at})`
                : '') +
              ': nothing changed',
          );
        }
        if (stored) await routes.update(doc, stored.version);
        else await routes.insert(doc);
        await this.moveProfileHead(tx, routed.agent, routed.current, routed.by, routed.at);
        return { outcome: 'applied' as const };
      }),
    );
  }

  // ------------------------------------------------------------------ read

  /** The release a new task of `agent` starts on: the canary's for its share of task ids, else the current. */
  async releaseFor(agent: string, taskId: string): Promise<number | undefined> {
    const route = (await this.store.repository(releaseRoutes).get(agent))?.doc;
    if (!route) return (await this.head(agent))?.current;
    if (route.canary && takesCanary(agent, taskId, route.canary.percent)) {
      return route.canary.release;
    }
    return route.current;
  }

  async routing(agent: string): Promise<ReleaseRouting | undefined> {
    const route = (await this.store.repository(releaseRoutes).get(agent))?.doc;
    if (route) {
      const { change, release, reason, by, at, moveRunning } = route;
      return {
        agent,
        current: route.current,
        ...(route.canary ? { canary: route.canary } : {}),
        history: route.history,
        last: { change, release, reason, by, at, moveRunning },
      };
    }
    const head = await this.head(agent);
    return head ? { agent, current: head.current, history: [] } : undefined;
  }

  /** The agents the catalog knows, by name. */
  async agents(): Promise<string[]> {
    const heads = await this.store.repository(catalogHeads).find({});
    return heads
      .map((h) => h.doc)
      .filter((h) => h.kind === 'profile')
      .map((h) => h.name)
      .sort();
  }

  /** The number the next release of `agent` gets. */
  async nextRelease(agent: string): Promise<number> {
    return ((await this.head(agent))?.latest ?? 0) + 1;
  }

  async release(agent: string, release: number): Promise<ReleaseView | undefined> {
    const profile = (await this.store.repository(profileVersions).get(`${agent}@${release}`))?.doc;
    if (!profile) return undefined;
    const doc = (await this.store.repository(releases).get(`${agent}@${release}`))?.doc;
    return doc ? this.viewOf(doc, profile.profile) : this.seededView(profile);
  }

  /** Every release of `agent`, oldest first. */
  async releases(agent: string): Promise<ReleaseView[]> {
    const found = await this.store
      .repository(profileVersions)
      .find({ where: { name: agent }, orderBy: 'version' });
    const views: ReleaseView[] = [];
    for (const { doc } of found) {
      const view = await this.release(agent, doc.version);
      if (view) views.push(view);
    }
    return views;
  }

  /** A prompt version a release brought; shipped prompts are not here. */
  async prompt(id: string, version: string): Promise<SystemPrompt | undefined> {
    const doc = (await this.store.repository(promptVersions).get(`${id}@${version}`))?.doc;
    return doc ? { id: doc.id, version: doc.version, text: doc.text } : undefined;
  }

  // --------------------------------------------------------------- helpers

  private async keepRelease(tx: Transaction, created: ReleaseCreatedV1): Promise<ReleaseApplied> {
    const contentHash = releaseContentHash(created);
    const id = `${created.agent}@${created.release}`;
    const existing = (await tx.repository(releases).get(id))?.doc;
    if (existing) {
      if (existing.contentHash === contentHash) return { outcome: 'unchanged' };
      throw new CatalogError(
        `release ${id} exists with different content (made by ${existing.author} at ${existing.createdAt})`,
      );
    }
    const parsed = AgentProfile.safeParse(created.profile);
    if (!parsed.success) {
      throw new CatalogError(`release ${id} has an invalid profile`, [parsed.error.message]);
    }
    const profile = parsed.data;
    if (profile.name !== created.agent || profile.version !== created.release) {
      throw new CatalogError(
        `release ${id} carries profile ${profile.name} v${profile.version}: they must match`,
      );
    }
    if (
      profile.policy.id !== created.policy.id ||
      profile.policy.version !== created.policy.version
    ) {
      throw new CatalogError(`release ${id}: its profile must pin the policy version it carries`);
    }
    // The prompt and the policy: kept once per version; a version's text never changes.
    const prompts = tx.repository(promptVersions);
    const prompt = (await prompts.get(`${created.prompt.id}@${created.prompt.version}`))?.doc;
    if (prompt && prompt.text !== created.prompt.text) {
      throw new CatalogError(
        `prompt ${created.prompt.id} v${created.prompt.version} exists with a different text`,
      );
    }
    if (!prompt) await prompts.insert(created.prompt);
    const policies = tx.repository(policyVersions);
    const policyKey = `${created.policy.id}@${created.policy.version}`;
    const policy = (await policies.get(policyKey))?.doc;
    if (policy && policy.cedar !== created.policy.cedar) {
      throw new CatalogError(
        `policy ${created.policy.id} v${created.policy.version} exists with a different text`,
      );
    }
    if (!policy) {
      await policies.insert({
        policyId: created.policy.id,
        version: created.policy.version,
        cedar: created.policy.cedar,
        description: created.policy.description,
        author: created.author,
        createdAt: created.createdAt,
      });
      // A new policy id starts current; an existing one keeps its head: releases pin versions.
      await this.bumpHead(tx, 'policy', created.policy.id, created.policy.version, created);
    }
    const profiles = tx.repository(profileVersions);
    const storedProfile = (await profiles.get(id))?.doc;
    if (storedProfile && !isDeepStrictEqual(storedProfile.profile, profile)) {
      throw new CatalogError(`profile ${id} exists with different content`);
    }
    if (!storedProfile) {
      await profiles.insert({
        name: created.agent,
        version: created.release,
        profile,
        toolsVersion: created.toolsVersion,
        author: created.author,
        createdAt: created.createdAt,
      });
    }
    const doc: ReleaseDoc = {
      agent: created.agent,
      release: created.release,
      ...(created.parent !== undefined ? { parent: created.parent } : {}),
      description: created.description,
      author: created.author,
      createdAt: created.createdAt,
      promptId: created.prompt.id,
      promptVersion: created.prompt.version,
      policyId: created.policy.id,
      policyVersion: created.policy.version,
      toolsVersion: created.toolsVersion,
      canary: created.canary,
      contentHash,
    };
    await tx.repository(releases).insert(doc);
    // The first release of an agent new to the catalog takes its tasks; later ones wait for a promote.
    await this.bumpHead(tx, 'profile', created.agent, created.release, created);
    return { outcome: 'applied' };
  }

  private async bumpHead(
    tx: Transaction,
    kind: CatalogHead['kind'],
    name: string,
    version: number,
    created: ReleaseCreatedV1,
  ): Promise<void> {
    const heads = tx.repository(catalogHeads);
    const stored = await heads.get(headId(kind, name));
    if (!stored) {
      await heads.insert({
        kind,
        name,
        current: version,
        latest: version,
        changedBy: created.author,
        changedAt: created.createdAt,
      });
    } else if (version > stored.doc.latest) {
      await heads.update({ ...stored.doc, latest: version }, stored.version);
    }
  }

  private async moveProfileHead(
    tx: Transaction,
    agent: string,
    current: number,
    by: string,
    at: string,
  ): Promise<void> {
    const heads = tx.repository(catalogHeads);
    const stored = await heads.get(headId('profile', agent));
    const head: CatalogHead = {
      kind: 'profile',
      name: agent,
      current,
      latest: Math.max(stored?.doc.latest ?? 0, current),
      changedBy: by,
      changedAt: at,
    };
    if (stored) await heads.update(head, stored.version);
    else await heads.insert(head);
  }

  private async head(agent: string): Promise<CatalogHead | undefined> {
    return (await this.store.repository(catalogHeads).get(headId('profile', agent)))?.doc;
  }

  private async viewOf(doc: ReleaseDoc, profile: AgentProfile): Promise<ReleaseView> {
    const prompt = await this.prompt(doc.promptId, doc.promptVersion);
    const policy = (
      await this.store.repository(policyVersions).get(`${doc.policyId}@${doc.policyVersion}`)
    )?.doc;
    return {
      agent: doc.agent,
      release: doc.release,
      ...(doc.parent !== undefined ? { parent: doc.parent } : {}),
      description: doc.description,
      author: doc.author,
      createdAt: doc.createdAt,
      profile,
      prompt: {
        id: doc.promptId,
        version: doc.promptVersion,
        ...(prompt ? { text: prompt.text } : {}),
      },
      policy: {
        id: doc.policyId,
        version: doc.policyVersion,
        ...(policy ? { cedar: policy.cedar } : {}),
      },
      toolsVersion: doc.toolsVersion,
      canary: doc.canary,
      seeded: false,
    };
  }

  /** A profile version no release event made (a service seeded it): the policy it follows is the current one. */
  private async seededView(doc: {
    name: string;
    version: number;
    profile: AgentProfile;
    toolsVersion: string;
    author: string;
    createdAt: string;
  }): Promise<ReleaseView> {
    const { profile } = doc;
    const policyVersion =
      profile.policy.version ??
      (await this.store.repository(catalogHeads).get(headId('policy', profile.policy.id)))?.doc
        .current;
    const policy =
      policyVersion === undefined
        ? undefined
        : (await this.store.repository(policyVersions).get(`${profile.policy.id}@${policyVersion}`))
            ?.doc;
    const prompt =
      (await this.prompt(profile.prompt.id, profile.prompt.version)) ??
      this.options.shippedPrompt?.(profile.prompt.id, profile.prompt.version);
    return {
      agent: doc.name,
      release: doc.version,
      description: profile.description,
      author: doc.author,
      createdAt: doc.createdAt,
      profile,
      prompt: { ...profile.prompt, ...(prompt ? { text: prompt.text } : {}) },
      policy: {
        id: profile.policy.id,
        ...(policyVersion !== undefined ? { version: policyVersion } : {}),
        ...(policy ? { cedar: policy.cedar } : {}),
      },
      toolsVersion: doc.toolsVersion,
      canary: Thresholds.parse({}),
      seeded: true,
    };
  }

  /** Runs an apply; a conflict becomes a refusal, a race with another applier on one store is run again. */
  private async refusing(apply: () => Promise<ReleaseApplied>): Promise<ReleaseApplied> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await apply();
      } catch (error) {
        if (error instanceof CatalogError) return { outcome: 'refused', reason: error.message };
        const raced = error instanceof DuplicateError || error instanceof ConcurrencyError;
        if (!raced || attempt >= 3) throw error;
      }
    }
  }
}
