import { createBus, InMemoryTransport, type Bus, type Subscription } from '@leash/bus';
import { createEnvelope, type AnyEnvelope, type ControlAckV1, type KillV1 } from '@leash/contracts';
import { waitFor } from '@leash/testing';
import { ControlChannel, controlGroup } from './control-channel';
import { ControlCommander } from './control-commander';
import { KillSwitch, KilledError } from './kill-switch';
import { MemoryKillStore } from './memory-kill-store.fixture';

describe('ControlChannel and ControlCommander', () => {
  let bus: Bus;
  let memory: MemoryKillStore;
  let channels: ControlChannel[];
  let commander: ControlCommander;
  let watcher: Subscription | undefined;

  beforeEach(async () => {
    bus = createBus({ transport: new InMemoryTransport(), source: 'test', partitions: 2 });
    memory = new MemoryKillStore();
    channels = [];
    commander = await ControlCommander.open(bus, { source: 'test-cli' });
  });

  afterEach(async () => {
    await Promise.all(channels.map((channel) => channel.stop()));
    await watcher?.close();
    await commander.close();
    await bus.close();
  });

  async function instance(
    service: 'planner' | 'policy' | 'budget' | 'approvals' | 'executor',
    name: string,
    onRollback?: (kill: KillV1) => Promise<void>,
    store = memory,
  ) {
    const killSwitch = await KillSwitch.open({ store: store.asStore(), service, instance: name });
    const channel = new ControlChannel({ bus, killSwitch, onRollback });
    await channel.start();
    channels.push(channel);
    return { killSwitch, channel };
  }

  it('subscribes one group per instance and start', async () => {
    const first = await instance('executor', 'host-1');
    const again = await instance('executor', 'host-1');
    expect(first.channel.group).toMatch(/^executor\.control\.host-1\.[0-9a-f]{8}$/);
    expect(first.channel.group.startsWith(`${controlGroup('executor', 'host-1')}.`)).toBe(true);
    expect(again.channel.group).not.toBe(first.channel.group);
  });

  function killEvent(commandId: string, data: Partial<KillV1> = {}) {
    return createEnvelope(
      'leash.control.kill.v1',
      {
        commandId,
        scope: { kind: 'all' as const },
        reason: 'test',
        issuedBy: 'oncall',
        issuedAt: new Date().toISOString(),
        ...data,
      },
      { source: 'test' },
    );
  }

  it('a start after a kill, on a store that never saw it, honours it once start() resolves', async () => {
    const acks: AnyEnvelope[] = [];
    watcher = await bus.subscribe('watcher', ['control'], async (d) => {
      if (d.event.type === 'leash.control.ack.v1') acks.push(d.event);
    });
    const rolledBack: KillV1[] = [];
    // Issued while no executor ran: nobody recorded it in the executor's store.
    await bus.publish('control', killEvent('k-early', { rollback: true }));
    await bus.publish(
      'control',
      killEvent('k-lifted', { scope: { kind: 'agent', agent: 'support' } }),
    );
    await bus.publish(
      'control',
      createEnvelope(
        'leash.control.resume.v1',
        {
          commandId: 'r-1',
          scope: { kind: 'agent', agent: 'support' },
          reason: 'fixed',
          issuedBy: 'oncall',
          issuedAt: new Date().toISOString(),
        },
        { source: 'test' },
      ),
    );

    const late = await instance(
      'executor',
      'late',
      async (kill) => void rolledBack.push(kill),
      new MemoryKillStore(),
    );
    // No waiting: start() resolved only after the history was applied.
    expect(late.killSwitch.active().map((k) => k.commandId)).toEqual(['k-early']);
    expect(
      late.killSwitch.covering({ tenantId: 'acme', agent: 'it-helpdesk', taskId: 't' })?.commandId,
    ).toBe('k-early');

    // History is applied, not acknowledged again nor rolled back again; what comes next is live.
    await bus.publish('control', killEvent('k-live'));
    await waitFor(() => acks.some((a) => (a.data as ControlAckV1).commandId === 'k-live'), {
      description: 'the live kill acknowledged',
    });
    expect(acks.map((a) => (a.data as ControlAckV1).commandId)).toEqual(['k-live']);
    expect(rolledBack).toEqual([]);
  });

  it('reaches every instance of a service: each aborts its own calls and acknowledges', async () => {
    const one = await instance('executor', 'one');
    const two = await instance('executor', 'two');
    const target = { tenantId: 'acme', agent: 'support', taskId: 't1' };
    const calls = [new AbortController(), new AbortController(), new AbortController()];
    one.killSwitch.track(target, calls[0]);
    two.killSwitch.track(target, calls[1]);
    two.killSwitch.track(target, calls[2]);

    const result = await commander.kill(
      { scope: { kind: 'tenant', tenantId: 'acme' }, reason: 'runaway', issuedBy: 'oncall' },
      { services: ['executor'] },
    );
    // Done as soon as one executor answered; wait for the other too.
    await waitFor(() => calls.every((c) => c.signal.aborted), {
      description: 'every call aborted',
    });
    expect(calls[0].signal.reason).toBeInstanceOf(KilledError);
    expect(result.missing).toEqual([]);
    expect(result.acks[0].ack).toMatchObject({ commandId: result.commandId, command: 'kill' });
    expect(result.acks[0].elapsedMs).toBeGreaterThanOrEqual(0);
    expect(one.killSwitch.covering(target)?.commandId).toBe(result.commandId);
    expect(two.killSwitch.covering(target)?.commandId).toBe(result.commandId);
  });

  it('acknowledges with the service, the instance and the aborted count, under a stable id', async () => {
    const { killSwitch } = await instance('budget', 'b-1');
    killSwitch.track({ tenantId: 'acme', agent: 'support', taskId: 't1' }, new AbortController());
    const acks: AnyEnvelope[] = [];
    watcher = await bus.subscribe('watcher', ['control'], async (d) => {
      if (d.event.type === 'leash.control.ack.v1') acks.push(d.event);
    });
    const kill = createEnvelope(
      'leash.control.kill.v1',
      {
        commandId: 'k1',
        scope: { kind: 'all' },
        reason: 'test',
        issuedBy: 'oncall',
        issuedAt: new Date().toISOString(),
      },
      { source: 'test' },
    );
    await bus.publish('control', kill);
    const [ack] = await waitFor(() => (acks.length > 0 ? acks : undefined), {
      description: 'the ack',
    });
    expect(ack.id).toBe(`ack:${kill.id}:budget:b-1`);
    expect(ack.source).toBe('budget');
    expect(ack.data as ControlAckV1).toMatchObject({
      commandId: 'k1',
      command: 'kill',
      service: 'budget',
      instance: 'b-1',
      aborted: 1,
    });
  });

  it('waits for every expected service and names the ones that did not answer', async () => {
    await instance('policy', 'p');
    await instance('budget', 'b');
    const seen: string[] = [];
    const result = await commander.kill(
      { scope: { kind: 'all' }, reason: 'test', issuedBy: 'oncall' },
      { timeoutMs: 300, onAck: (r) => seen.push(r.ack.service) },
    );
    expect(seen.sort()).toEqual(['budget', 'policy']);
    expect(result.missing).toEqual(['planner', 'approvals', 'executor']);
  });

  it('resumes: the kill is lifted everywhere and the resume acknowledged', async () => {
    const services = await Promise.all(
      (['planner', 'policy', 'budget', 'approvals', 'executor'] as const).map((s) =>
        instance(s, `${s}-1`),
      ),
    );
    const target = { tenantId: 'acme', agent: 'support', taskId: 't1' };
    const killed = await commander.kill({
      scope: { kind: 'agent', agent: 'support' },
      reason: 'test',
      issuedBy: 'oncall',
    });
    expect(killed.missing).toEqual([]);
    expect(new Set(killed.acks.map((r) => r.ack.service)).size).toBe(5);
    for (const { killSwitch } of services) expect(killSwitch.covering(target)).toBeDefined();

    const resumed = await commander.resume({
      scope: { kind: 'agent', agent: 'support' },
      reason: 'fixed',
      issuedBy: 'oncall',
    });
    expect(resumed.missing).toEqual([]);
    expect(resumed.acks.every((r) => r.ack.command === 'resume')).toBe(true);
    for (const { killSwitch } of services) expect(killSwitch.covering(target)).toBeUndefined();
  });

  it('runs the rollback hook for a kill with rollback, after acknowledging it', async () => {
    const rolledBack: KillV1[] = [];
    await instance('executor', 'e', async (kill) => {
      rolledBack.push(kill);
    });
    const result = await commander.kill(
      { scope: { kind: 'task', taskId: 't1' }, reason: 'undo', rollback: true, issuedBy: 'oncall' },
      { services: ['executor'] },
    );
    await waitFor(() => rolledBack.length === 1, { description: 'the rollback' });
    expect(rolledBack[0]).toMatchObject({ commandId: result.commandId, rollback: true });

    await commander.kill(
      { scope: { kind: 'task', taskId: 't2' }, reason: 'stop only', issuedBy: 'oncall' },
      { services: ['executor'] },
    );
    expect(rolledBack).toHaveLength(1);
  });
});
