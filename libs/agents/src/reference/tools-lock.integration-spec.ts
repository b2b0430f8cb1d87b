import { toolSnapshot } from '../tool-definition';
import { REFERENCE_TOOLS } from './index';
import { readToolsLock, toolsLockChanges, toolsLockOf } from './tools-lock';

describe('the shipped tools lock (reference-tools.lock.json)', () => {
  it('pins every shipped tool: no definition changes at a version a store may have recorded', () => {
    expect({
      changes: toolsLockChanges(readToolsLock(), toolsLockOf()),
      fix: 'bump the version of a tool whose definition changed; then npm run tools:lock and commit the lock',
    }).toEqual({ changes: [], fix: expect.any(String) });
  });

  it('tells a changed definition at the same version from a new version, a new tool and a removed one', () => {
    const locked = toolsLockOf();
    const [first, second] = REFERENCE_TOOLS.names as [string, string];
    const changed = {
      ...locked,
      [first]: { ...locked[first]!, digest: 'changed' },
      [second]: { ...locked[second]!, version: locked[second]!.version + 1 },
      brand_new: { version: 1, digest: 'x' },
    };
    delete (changed as Record<string, unknown>)[REFERENCE_TOOLS.names[2]!];
    expect(toolsLockChanges(locked, changed)).toEqual([
      `${first} v${locked[first]!.version}: its definition changed without a new version: bump it`,
      `${second}: v${locked[second]!.version} -> v${locked[second]!.version + 1}, not in the lock yet`,
      'brand_new: new (v1), not in the lock',
      `${REFERENCE_TOOLS.names[2]}: in the lock, no longer shipped`,
    ]);
    // The digest covers what the catalog records: the snapshot, version included.
    expect(toolSnapshot(REFERENCE_TOOLS.tool(first)!)).toHaveProperty('version');
  });
});
