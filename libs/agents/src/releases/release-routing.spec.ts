import type { ReleaseRouting } from './release-catalog';
import { canaryRouting, promoteRouting, rollbackRouting } from './release-routing';

const change = { by: 'ops', at: '2026-12-04T10:00:00.000Z', reason: 'why' };
const seeded: ReleaseRouting = { agent: 'support', current: 1, history: [] };

describe('release routing changes', () => {
  it('a canary keeps the current release and its window when widened', () => {
    const first = canaryRouting(seeded, 2, 5, change);
    expect(first).toMatchObject({
      change: 'canary',
      current: 1,
      canary: { release: 2, percent: 5, since: change.at },
    });
    const widened = canaryRouting({ ...seeded, canary: first.canary! }, 2, 25, {
      ...change,
      at: '2026-12-04T11:00:00.000Z',
    });
    expect(widened.canary).toEqual({ release: 2, percent: 25, since: change.at });
  });

  it('promote --full makes the release current and remembers the one it replaced', () => {
    expect(promoteRouting(seeded, 2, change)).toMatchObject({ current: 2, history: [1] });
    // Promoting the canary's release over a canary clears the canary.
    const routed = promoteRouting({ ...seeded, current: 2, history: [1] }, 3, change);
    expect(routed).toMatchObject({ current: 3, history: [1, 2] });
    expect(routed.canary).toBeUndefined();
  });

  it('refuses to make the current release current or a canary of itself', () => {
    expect(() => promoteRouting(seeded, 1, change)).toThrow(
      /support@1 is the current release already/,
    );
    expect(() => canaryRouting(seeded, 1, 5, change)).toThrow(/current release already/);
  });

  it('rollback stops a canary first, then walks back the history, then refuses', () => {
    const withCanary: ReleaseRouting = {
      ...seeded,
      current: 2,
      history: [1],
      canary: { release: 3, percent: 10, since: change.at },
    };
    const stopped = rollbackRouting(withCanary, { ...change, moveRunning: true });
    expect(stopped).toMatchObject({
      change: 'rollback',
      release: 3,
      current: 2,
      history: [1],
      moveRunning: true,
    });
    expect(stopped.canary).toBeUndefined();
    const back = rollbackRouting(
      { ...seeded, current: 2, history: [1] },
      { ...change, moveRunning: false },
    );
    expect(back).toMatchObject({ release: 2, current: 1, history: [] });
    expect(() => rollbackRouting(seeded, { ...change, moveRunning: false })).toThrow(
      /support has no previous release to roll back to: @1 is the only one it has run/,
    );
  });

  it('names the routing each change was made from, so a stale one can be refused', () => {
    expect(promoteRouting(seeded, 2, change).basedOn).toBe('');
    const changed: ReleaseRouting = {
      ...seeded,
      current: 2,
      history: [1],
      last: {
        change: 'promote',
        release: 2,
        reason: 'r',
        by: 'ops',
        at: change.at,
        moveRunning: false,
      },
    };
    expect(rollbackRouting(changed, { ...change, moveRunning: false }).basedOn).toBe(change.at);
    expect(canaryRouting(changed, 3, 5, change).basedOn).toBe(change.at);
  });
});
