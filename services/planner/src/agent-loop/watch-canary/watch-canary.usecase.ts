import { createEnvelope, type ReleaseRoutedV1 } from '@leash/contracts';
import { basedOn, type ReleaseCatalog } from '@leash/agents';
import type { Store } from '@leash/store';
import { canaryBreaches, figuresOf, type ReleaseFigures } from './canary-figures';
import { RELEASE_OUTCOMES } from './release-outcome.aggregate';

export interface CanaryReport {
  readonly agent: string;
  readonly canary: { readonly release: number; readonly percent: number; readonly since: string };
  readonly current: number;
  readonly canaryFigures: ReleaseFigures;
  readonly baselineFigures: ReleaseFigures;
  readonly breaches: readonly string[];
}

export interface WatchCanaryDeps {
  readonly store: Store;
  readonly releases: ReleaseCatalog;
  /** The CloudEvents source of the rollback it publishes. */
  readonly source: string;
  readonly clock: () => number;
  readonly log: { warn(message: string): void };
}

/** Compares a canary with its baseline over the canary's window. */
export async function canaryReport(
  deps: Pick<WatchCanaryDeps, 'store' | 'releases'>,
  agent: string,
): Promise<CanaryReport | undefined> {
  const routing = await deps.releases.routing(agent);
  if (!routing?.canary) return undefined;
  const { canary, current } = routing;
  const outcomes = deps.store.repository(RELEASE_OUTCOMES);
  const [onCanary, onBaseline] = await Promise.all(
    [canary.release, current].map(async (release) =>
      (
        await outcomes.find({
          where: { agent, release },
          range: { field: 'finishedAt', gte: canary.since },
        })
      ).map((s) => s.doc),
    ),
  );
  const limits = (await deps.releases.release(agent, canary.release))?.canary;
  const canaryFigures = figuresOf(onCanary!);
  const baselineFigures = figuresOf(onBaseline!);
  return {
    agent,
    canary,
    current,
    canaryFigures,
    baselineFigures,
    breaches: limits ? canaryBreaches(canaryFigures, baselineFigures, limits) : [],
  };
}

/**
 * Watches every running canary: when one is worse than its baseline beyond
 * its release's thresholds, it is rolled back (the whole share returns to the
 * current release) by a routing change on the control topic, which names the
 * figures; every service applies it, and the audit records it. Run on an
 * interval by the planner, which records each task's outcome by release.
 */
export class WatchCanaryUseCase {
  /** Canaries this process has rolled back, until the change comes back on the control topic. */
  private readonly rolledBack = new Set<string>();

  constructor(private readonly deps: WatchCanaryDeps) {}

  async execute(): Promise<CanaryReport[]> {
    const rolled: CanaryReport[] = [];
    for (const agent of await this.deps.releases.agents()) {
      const report = await canaryReport(this.deps, agent);
      if (!report || report.breaches.length === 0) continue;
      const key = `${agent}@${report.canary.release}:${report.canary.since}`;
      if (this.rolledBack.has(key)) continue;
      if (!(await this.rollBack(report))) continue;
      this.rolledBack.add(key);
      rolled.push(report);
    }
    return rolled;
  }

  private async rollBack(report: CanaryReport): Promise<boolean> {
    const routing = await this.deps.releases.routing(report.agent);
    // Changed while the figures were read (an operator promoted or stopped it): not this watch's to undo.
    if (
      !routing?.canary ||
      routing.canary.release !== report.canary.release ||
      routing.canary.since !== report.canary.since ||
      routing.current !== report.current
    ) {
      return false;
    }
    const reason =
      `canary @${report.canary.release} rolled back automatically after ${report.canaryFigures.tasks} tasks ` +
      `(baseline @${report.current}: ${report.baselineFigures.tasks}): ${report.breaches.join('; ')}`;
    const routed: ReleaseRoutedV1 = {
      agent: report.agent,
      change: 'auto-rollback',
      release: report.canary.release,
      current: report.current,
      history: [...routing.history],
      moveRunning: false,
      reason,
      by: `${this.deps.source} (canary watch)`,
      at: new Date(this.deps.clock()).toISOString(),
      basedOn: basedOn(routing),
    };
    // One id per canary: every planner instance that sees it worse publishes the same event.
    const envelope = createEnvelope('leash.releases.routed.v1', routed, {
      source: this.deps.source,
      id: `auto-rollback:${report.agent}:${report.canary.release}:${report.canary.since}`,
    });
    await this.deps.store.transaction((tx) => tx.outbox.enqueue('control', envelope));
    this.deps.log.warn(reason);
    return true;
  }
}
