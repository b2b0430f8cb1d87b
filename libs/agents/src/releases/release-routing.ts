import type { ReleaseRoutedV1 } from '@leash/contracts';
import type { ReleaseRouting } from './release-catalog';

/** A routing change that cannot be made: the release is current already, or there is nothing to go back to. */
export class ReleaseRoutingError extends Error {
  override readonly name = 'ReleaseRoutingError';
}

/** The routing a change is made from, as the catalog checks it: its last change's time, '' when seeded. */
export function basedOn(routing: ReleaseRouting): string {
  return routing.last?.at ?? '';
}

/** Who changes the routing, when and why. */
export interface RoutingChange {
  readonly by: string;
  readonly at: string;
  readonly reason: string;
}

/**
 * `promote --canary P`: `release` takes P% of new tasks, the current release
 * the rest. Widening a running canary keeps its window, so its comparison
 * with the baseline goes on.
 */
export function canaryRouting(
  routing: ReleaseRouting,
  release: number,
  percent: number,
  change: RoutingChange,
): ReleaseRoutedV1 {
  if (release === routing.current) {
    throw new ReleaseRoutingError(`${routing.agent}@${release} is the current release already`);
  }
  const since = routing.canary?.release === release ? routing.canary.since : change.at;
  return {
    agent: routing.agent,
    change: 'canary',
    release,
    current: routing.current,
    canary: { release, percent, since },
    history: [...routing.history],
    moveRunning: false,
    ...change,
    basedOn: basedOn(routing),
  };
}

/** `promote --full`: `release` takes every new task; the one it replaces is where a rollback returns. */
export function promoteRouting(
  routing: ReleaseRouting,
  release: number,
  change: RoutingChange,
): ReleaseRoutedV1 {
  if (release === routing.current && !routing.canary) {
    throw new ReleaseRoutingError(`${routing.agent}@${release} is the current release already`);
  }
  return {
    agent: routing.agent,
    change: 'promote',
    release,
    current: release,
    history:
      release === routing.current ? [...routing.history] : [...routing.history, routing.current],
    moveRunning: false,
    ...change,
    basedOn: basedOn(routing),
  };
}

/**
 * `rollback`: a running canary stops (its share returns to the current
 * release); with none, the previous current release is current again.
 */
export function rollbackRouting(
  routing: ReleaseRouting,
  change: RoutingChange & { readonly moveRunning: boolean },
): ReleaseRoutedV1 {
  const common = {
    agent: routing.agent,
    change: 'rollback' as const,
    ...change,
    basedOn: basedOn(routing),
  };
  if (routing.canary) {
    return {
      ...common,
      release: routing.canary.release,
      current: routing.current,
      history: [...routing.history],
    };
  }
  const previous = routing.history[routing.history.length - 1];
  if (previous === undefined) {
    throw new ReleaseRoutingError(
      `${routing.agent} has no previous release to roll back to: @${routing.current} is the only one it has run`,
    );
  }
  return {
    ...common,
    release: routing.current,
    current: previous,
    history: routing.history.slice(0, -1),
  };
}
