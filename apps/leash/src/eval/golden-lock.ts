import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReferenceScenario } from '@leash/agents';
import { canonicalHash } from '@leash/signing';
import { GOLDEN_SCENARIOS } from './golden-set';

/*
 * The golden set, frozen: golden-set.lock.json pins every golden task's id
 * and two digests, one of what it expects (status, reason, tools, reviews,
 * trajectory rules) and one of the task itself (agent, input, requester,
 * tags, fixtures). A spec compares the set with the file, so a change to an
 * expected outcome shows as a change to the lock, made in a commit of its
 * own that says why:
 *
 *   npm run eval:lock      # rewrites golden-set.lock.json from the scenarios
 */

export const GOLDEN_LOCK_FILE = join(__dirname, 'golden-set.lock.json');

export interface GoldenLockEntry {
  /** Digest of the scenario's `expect`. */
  readonly expect: string;
  /** Digest of what the task is: agent, input, requester, tags, fixtures. */
  readonly task: string;
}

export interface GoldenLock {
  readonly version: 1;
  /** By task id, sorted. */
  readonly tasks: Readonly<Record<string, GoldenLockEntry>>;
}

export function goldenLockOf(scenarios: readonly ReferenceScenario[]): GoldenLock {
  const sorted = [...scenarios].sort((a, b) => a.id.localeCompare(b.id));
  return {
    version: 1,
    tasks: Object.fromEntries(
      sorted.map((s) => [
        s.id,
        {
          expect: canonicalHash(s.expect),
          task: canonicalHash({
            agent: s.agent,
            input: s.input,
            requestedBy: s.requestedBy,
            tags: s.tags,
            fixtures: s.fixtures,
          }),
        },
      ]),
    ),
  };
}

/** What differs between a lock and the set: ids added or removed, expectations or tasks changed. */
export function goldenLockChanges(locked: GoldenLock, current: GoldenLock): string[] {
  const changes: string[] = [];
  for (const [id, entry] of Object.entries(current.tasks)) {
    const before = locked.tasks[id];
    if (!before) changes.push(`${id}: added`);
    else {
      if (before.expect !== entry.expect) changes.push(`${id}: expectation changed`);
      if (before.task !== entry.task) changes.push(`${id}: task changed`);
    }
  }
  for (const id of Object.keys(locked.tasks)) {
    if (!current.tasks[id]) changes.push(`${id}: removed`);
  }
  return changes;
}

export function readGoldenLock(file = GOLDEN_LOCK_FILE): GoldenLock {
  return JSON.parse(readFileSync(file, 'utf8')) as GoldenLock;
}

if (require.main === module) {
  writeFileSync(GOLDEN_LOCK_FILE, `${JSON.stringify(goldenLockOf(GOLDEN_SCENARIOS), null, 2)}\n`);
  process.stdout.write(`wrote ${GOLDEN_LOCK_FILE}: ${GOLDEN_SCENARIOS.length} golden tasks\n`);
}
