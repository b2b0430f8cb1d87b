import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '@leash/bus';
import type { ControlAckV1, ServiceName } from '@leash/contracts';
import {
  ControlCommander,
  KILL_SWITCH,
  KilledError,
  KillSwitch,
  type KillTarget,
} from '@leash/kill-switch';
import { waitFor } from '@leash/testing';
import { startLeash, type Leash } from './start';

const SERVICES: ServiceName[] = ['planner', 'policy', 'budget', 'approvals', 'executor'];
const acme: KillTarget = { tenantId: 'acme', agent: 'support', taskId: 'acme-1' };
const acmeLater: KillTarget = { tenantId: 'acme', agent: 'procurement', taskId: 'acme-2' };
const globex: KillTarget = { tenantId: 'globex', agent: 'support', taskId: 'globex-1' };

/**
 * A tool run that goes on until its signal aborts it, as a real tool honours
 * its AbortSignal; the test ends the ones a kill does not cover itself.
 */
function longToolCall(killSwitch: KillSwitch, target: KillTarget) {
  const controller = new AbortController();
  const untrack = killSwitch.track(target, controller);
  const outcome = new Promise<{ aborted: unknown }>((resolve) => {
    if (controller.signal.aborted) return resolve({ aborted: controller.signal.reason });
    controller.signal.addEventListener('abort', () =>
      resolve({ aborted: controller.signal.reason }),
    );
  }).finally(untrack);
  return { controller, outcome };
}

describe('the kill switch across the five services, on the embedded engines', () => {
  let dir: string;
  let leash: Leash | undefined;
  let commander: ControlCommander | undefined;
  let watcher: Subscription | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-kill-'));
  });

  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await commander?.close();
    commander = undefined;
    await leash?.stop();
    leash = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(instance: string): Promise<Leash> {
    leash = await startLeash({
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LEASH_INSTANCE_ID: instance,
      LOG_LEVEL: 'fatal',
    });
    commander = await ControlCommander.open(leash.engines.bus, { source: 'integration-test' });
    return leash;
  }

  function killSwitchOf(running: Leash, service: ServiceName): KillSwitch {
    return running.services.find((s) => s.name === service)!.app.get<KillSwitch>(KILL_SWITCH);
  }

  it('aborts a long tool call in scope, acknowledges, refuses new calls in scope only, and still refuses after a restart', async () => {
    const running = await start('first');
    const executor = killSwitchOf(running, 'executor');
    const inScope = longToolCall(executor, acme);
    const outOfScope = longToolCall(executor, globex);
    expect(executor.inFlight()).toBe(2);

    const killed = await commander!.kill(
      {
        scope: { kind: 'tenant', tenantId: 'acme' },
        reason: 'runaway refunds',
        issuedBy: 'oncall',
      },
      { timeoutMs: 10_000 },
    );

    expect(killed.missing).toEqual([]);
    expect(killed.acks.map((r) => r.ack.service).sort()).toEqual([...SERVICES].sort());
    for (const { ack } of killed.acks) {
      expect(ack).toMatchObject({
        commandId: killed.commandId,
        command: 'kill',
        instance: 'first',
      });
      expect(ack.aborted).toBe(ack.service === 'executor' ? 1 : 0);
    }
    const outcome = await inScope.outcome;
    expect(outcome.aborted).toBeInstanceOf(KilledError);
    expect(outOfScope.controller.signal.aborted).toBe(false);

    // After the ack: no new tool call starts in scope, on any service; outside it, work goes on.
    for (const service of SERVICES) {
      const killSwitch = killSwitchOf(running, service);
      expect(killSwitch.covering(acmeLater)?.commandId).toBe(killed.commandId);
      expect(killSwitch.covering(globex)).toBeUndefined();
    }
    const late = longToolCall(executor, acmeLater);
    await expect(late.outcome).resolves.toEqual({ aborted: expect.any(KilledError) });
    outOfScope.controller.abort(new Error('test over'));
    await outOfScope.outcome;

    // A restart loads the kill: killed work does not resume.
    const store = running.engines.store;
    const fresh = await KillSwitch.open({ store, service: 'executor', instance: 'other' });
    expect(fresh.covering(acme)?.commandId).toBe(killed.commandId);
    await running.stop();
    leash = undefined;
    await commander!.close();
    commander = undefined;
    const restarted = await start('second');
    for (const service of SERVICES) {
      expect(killSwitchOf(restarted, service).covering(acme)?.commandId).toBe(killed.commandId);
      expect(killSwitchOf(restarted, service).covering(globex)).toBeUndefined();
    }

    // The restarted instances have their own control groups: they acknowledge the resume.
    const resumed = await commander!.resume(
      { scope: { kind: 'tenant', tenantId: 'acme' }, reason: 'fixed', issuedBy: 'oncall' },
      { timeoutMs: 10_000 },
    );
    expect(resumed.missing).toEqual([]);
    expect(resumed.acks.every((r) => r.ack.instance === 'second')).toBe(true);
    for (const service of SERVICES) {
      expect(killSwitchOf(restarted, service).covering(acme)).toBeUndefined();
    }
    const afterResume = await KillSwitch.open({
      store: restarted.engines.store,
      service: 'executor',
      instance: 'x',
    });
    expect(afterResume.active()).toEqual([]);
  });

  it('reaches every instance: two processes on one bus each apply the kill and acknowledge it', async () => {
    const first = await start('one');
    // A second launcher on the same files, as a second process would be.
    const second = await startLeash({
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LEASH_INSTANCE_ID: 'two',
      LOG_LEVEL: 'fatal',
    });
    try {
      const acks: ControlAckV1[] = [];
      watcher = await first.engines.bus.subscribe(
        'integration-test.acks',
        ['control'],
        async ({ event }) => {
          if (event.type === 'leash.control.ack.v1') acks.push(event.data);
        },
        { fromBeginning: false },
      );
      const callOnTwo = longToolCall(killSwitchOf(second, 'executor'), acme);
      const killed = await commander!.kill(
        { scope: { kind: 'agent', agent: 'support' }, reason: 'bad prompt', issuedBy: 'oncall' },
        { timeoutMs: 10_000 },
      );
      expect(killed.missing).toEqual([]);
      // The command completes on one ack per service; the other instance's follow.
      await waitFor(() => acks.filter((a) => a.commandId === killed.commandId).length === 10, {
        description: 'an ack from each service of each instance',
      });
      const instances = new Set(acks.map((ack) => `${ack.service}/${ack.instance}`));
      expect(instances.size).toBe(10);
      await expect(callOnTwo.outcome).resolves.toEqual({ aborted: expect.any(KilledError) });
      expect(killSwitchOf(first, 'policy').covering(acme)).toBeDefined();
      expect(killSwitchOf(second, 'policy').covering(acme)).toBeDefined();
    } finally {
      await second.stop();
    }
  });
});
