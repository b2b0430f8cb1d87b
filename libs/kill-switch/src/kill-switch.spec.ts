import type { KillScope, KillV1, ResumeV1 } from '@leash/contracts';
import { StoreBusyError } from '@leash/store';
import { KILLS } from './kill.aggregate';
import { KillSwitch, KilledError } from './kill-switch';
import type { KillTarget } from './kill-scope';
import { MemoryKillStore } from './memory-kill-store.fixture';

const acme1: KillTarget = { tenantId: 'acme', agent: 'support', taskId: 'acme-1' };
const acme2: KillTarget = { tenantId: 'acme', agent: 'procurement', taskId: 'acme-2' };
const globex1: KillTarget = { tenantId: 'globex', agent: 'support', taskId: 'globex-1' };

let clock = Date.parse('2026-01-01T00:00:00.000Z');
function at(): string {
  clock += 1000;
  return new Date(clock).toISOString();
}

function kill(commandId: string, scope: KillScope, rollback = false): KillV1 {
  return { commandId, scope, reason: 'runaway', rollback, issuedBy: 'oncall', issuedAt: at() };
}

function resume(commandId: string, scope: KillScope): ResumeV1 {
  return { commandId, scope, reason: 'fixed', issuedBy: 'oncall', issuedAt: at() };
}

describe('KillSwitch', () => {
  let memory: MemoryKillStore;
  let killSwitch: KillSwitch;

  beforeEach(async () => {
    memory = new MemoryKillStore();
    killSwitch = await KillSwitch.open({
      store: memory.asStore(),
      service: 'executor',
      instance: 'executor-1',
      now: () => new Date('2026-01-02T00:00:00.000Z'),
    });
  });

  function tracked(target: KillTarget): { controller: AbortController; untrack: () => void } {
    const controller = new AbortController();
    return { controller, untrack: killSwitch.track(target, controller) };
  }

  it('covers nothing until a kill is applied', () => {
    expect(killSwitch.covering(acme1)).toBeUndefined();
    expect(killSwitch.active()).toEqual([]);
  });

  it('aborts exactly the tracked calls in scope, with a KilledError, and counts them', async () => {
    const a = tracked(acme1);
    const b = tracked(acme2);
    const c = tracked(globex1);
    const command = kill('k1', { kind: 'tenant', tenantId: 'acme' });

    await expect(killSwitch.apply(command)).resolves.toBe(2);

    expect(a.controller.signal.aborted).toBe(true);
    expect(b.controller.signal.aborted).toBe(true);
    expect(c.controller.signal.aborted).toBe(false);
    expect(a.controller.signal.reason).toBeInstanceOf(KilledError);
    expect((a.controller.signal.reason as KilledError).kill).toEqual(command);
    expect((a.controller.signal.reason as Error).message).toBe(
      'killed (tenant acme) by oncall: runaway',
    );
    expect(killSwitch.inFlight()).toBe(1);
  });

  it('refuses new work in scope after a kill, and not outside it', async () => {
    const command = kill('k1', { kind: 'agent', agent: 'support' });
    await killSwitch.apply(command);
    expect(killSwitch.covering(acme1)).toEqual(command);
    expect(killSwitch.covering(globex1)).toEqual(command);
    expect(killSwitch.covering(acme2)).toBeUndefined();
  });

  it('does not count calls that ended (untracked) or were already aborted', async () => {
    const ended = tracked(acme1);
    ended.untrack();
    const cancelled = tracked(acme1);
    cancelled.controller.abort(new Error('timeout'));
    await expect(killSwitch.apply(kill('k1', { kind: 'all' }))).resolves.toBe(0);
    expect(ended.controller.signal.aborted).toBe(false);
    expect(cancelled.controller.signal.reason).toEqual(new Error('timeout'));
  });

  it('aborts a call tracked after the kill at once', async () => {
    await killSwitch.apply(kill('k1', { kind: 'task', taskId: 'acme-1' }));
    const late = tracked(acme1);
    expect(late.controller.signal.aborted).toBe(true);
    expect(late.controller.signal.reason).toBeInstanceOf(KilledError);
    expect(tracked(acme2).controller.signal.aborted).toBe(false);
  });

  it('persists the kill, so a new KillSwitch over the same store still refuses', async () => {
    await killSwitch.apply(kill('k1', { kind: 'tenant', tenantId: 'acme' }));
    const restarted = await KillSwitch.open({
      store: memory.asStore(),
      service: 'executor',
      instance: 'executor-2',
    });
    expect(restarted.covering(acme1)?.commandId).toBe('k1');
    expect(restarted.covering(globex1)).toBeUndefined();
    const [stored] = await memory
      .asStore()
      .repository(KILLS)
      .find({ where: { status: 'active' } });
    expect(stored.doc).toMatchObject({ commandId: 'k1', recordedBy: 'executor/executor-1' });
  });

  it('is idempotent: applying the same kill twice aborts once and records once', async () => {
    tracked(acme1);
    const command = kill('k1', { kind: 'all' });
    await expect(killSwitch.apply(command)).resolves.toBe(1);
    await expect(killSwitch.apply(command)).resolves.toBe(0);
    expect(killSwitch.active()).toHaveLength(1);
    expect(memory.tables.get('kill')?.size).toBe(1);
  });

  it('stays in force when the store is down, and reports the aborts when the retry persists', async () => {
    tracked(acme1);
    tracked(acme2);
    const command = kill('k1', { kind: 'all' });
    memory.failWrites = new StoreBusyError('locked');

    await expect(killSwitch.apply(command)).rejects.toThrow('locked');
    expect(killSwitch.covering(globex1)).toEqual(command);

    memory.failWrites = undefined;
    await expect(killSwitch.apply(command)).resolves.toBe(2);
  });

  it('a resume lifts exactly the kills of its scope', async () => {
    await killSwitch.apply(kill('k-acme', { kind: 'tenant', tenantId: 'acme' }));
    await killSwitch.apply(kill('k-task', { kind: 'task', taskId: 'globex-1' }));

    const lifted = await killSwitch.resume(resume('r1', { kind: 'tenant', tenantId: 'acme' }));

    expect(lifted.map((k) => k.commandId)).toEqual(['k-acme']);
    expect(killSwitch.covering(acme1)).toBeUndefined();
    expect(killSwitch.covering(globex1)?.commandId).toBe('k-task');
    const restarted = await KillSwitch.open({
      store: memory.asStore(),
      service: 'policy',
      instance: 'p',
    });
    expect(restarted.active().map((k) => k.commandId)).toEqual(['k-task']);
  });

  it('a resume of a narrower scope does not lift a wider kill', async () => {
    await killSwitch.apply(kill('k-all', { kind: 'all' }));
    await expect(
      killSwitch.resume(resume('r1', { kind: 'task', taskId: 'acme-1' })),
    ).resolves.toEqual([]);
    expect(killSwitch.covering(acme1)?.commandId).toBe('k-all');
  });

  it('resume --all lifts every kill, and persists that', async () => {
    await killSwitch.apply(kill('k1', { kind: 'all' }));
    await killSwitch.apply(kill('k2', { kind: 'agent', agent: 'support' }));
    const lifted = await killSwitch.resume(resume('r-all', { kind: 'all' }));
    expect(lifted.map((k) => k.commandId).sort()).toEqual(['k1', 'k2']);
    expect(killSwitch.active()).toEqual([]);
    const stored = await memory.asStore().repository(KILLS).get('k1');
    expect(stored?.doc).toMatchObject({ status: 'lifted', liftedBy: 'r-all' });
    const restarted = await KillSwitch.open({
      store: memory.asStore(),
      service: 'budget',
      instance: 'b',
    });
    expect(restarted.covering(acme1)).toBeUndefined();
  });

  it('keeps the kill in force when the lifting cannot be persisted', async () => {
    await killSwitch.apply(kill('k1', { kind: 'all' }));
    memory.failWrites = new StoreBusyError('locked');
    await expect(killSwitch.resume(resume('r1', { kind: 'all' }))).rejects.toThrow('locked');
    expect(killSwitch.covering(acme1)?.commandId).toBe('k1');
  });

  it('a replayed old resume does not lift a kill issued after it', async () => {
    const old = resume('r-old', { kind: 'all' });
    await killSwitch.apply(kill('k-new', { kind: 'all' }));
    await expect(killSwitch.resume(old)).resolves.toEqual([]);
    expect(killSwitch.covering(acme1)?.commandId).toBe('k-new');
  });

  it('a replayed kill that another service already saw lifted stays lifted', async () => {
    const command = kill('k1', { kind: 'all' });
    const other = await KillSwitch.open({
      store: memory.asStore(),
      service: 'policy',
      instance: 'p',
    });
    await other.apply(command);
    await other.resume(resume('r1', { kind: 'all' }));

    await killSwitch.apply(command);

    expect(killSwitch.covering(acme1)).toBeUndefined();
  });

  it('builds its acknowledgement as this service and instance', () => {
    expect(killSwitch.acknowledgement('kill', 'k1', 3)).toEqual({
      commandId: 'k1',
      command: 'kill',
      service: 'executor',
      instance: 'executor-1',
      aborted: 3,
      appliedAt: '2026-01-02T00:00:00.000Z',
    });
  });
});
