import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolSnapshot } from '../tool-definition';
import { REFERENCE_TOOLS } from './index';

/*
 * The shipped tools' recorded definitions, pinned: the name, version and a
 * digest of what the catalog records of each (toolSnapshot). A store that
 * recorded a tool at a version refuses a different definition at that
 * version ("bump its version"), so changing a definition without a new
 * version breaks every existing deployment at its next start; a spec
 * compares the tools with this lock to catch it in the change itself.
 *
 *   npm run tools:lock    rewrites reference-tools.lock.json
 */

export const TOOLS_LOCK_FILE = join(__dirname, 'reference-tools.lock.json');

export type ToolsLock = Record<string, { readonly version: number; readonly digest: string }>;

export function toolsLockOf(): ToolsLock {
  const lock: ToolsLock = {};
  for (const name of REFERENCE_TOOLS.names) {
    const tool = REFERENCE_TOOLS.tool(name)!;
    const digest = createHash('sha256')
      .update(JSON.stringify(toolSnapshot(tool)))
      .digest('hex')
      .slice(0, 16);
    lock[name] = { version: tool.version, digest };
  }
  return lock;
}

export function readToolsLock(): ToolsLock {
  return JSON.parse(readFileSync(TOOLS_LOCK_FILE, 'utf8')) as ToolsLock;
}

/** What differs between the lock and the tools, one line each; empty when they agree. */
export function toolsLockChanges(locked: ToolsLock, current: ToolsLock): string[] {
  const changes: string[] = [];
  for (const [name, now] of Object.entries(current)) {
    const was = locked[name];
    if (!was) changes.push(`${name}: new (v${now.version}), not in the lock`);
    else if (was.version === now.version && was.digest !== now.digest) {
      changes.push(
        `${name} v${now.version}: its definition changed without a new version: bump it`,
      );
    } else if (was.version !== now.version) {
      changes.push(`${name}: v${was.version} -> v${now.version}, not in the lock yet`);
    }
  }
  for (const name of Object.keys(locked)) {
    if (!(name in current)) changes.push(`${name}: in the lock, no longer shipped`);
  }
  return changes;
}

if (require.main === module) {
  writeFileSync(TOOLS_LOCK_FILE, `${JSON.stringify(toolsLockOf(), null, 2)}\n`);
  process.stdout.write(`wrote ${TOOLS_LOCK_FILE}\n`);
}
