import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from '@leash/bus';
import { loadConfig } from '@leash/config';
import type { Envelope } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import { type RunningService } from '@leash/service-runtime';
import { ControlCommander } from '@leash/kill-switch';
import { waitFor } from '@leash/testing';
import { POLICY_ENV } from '../config';
import { bootstrapPolicy } from '../policy.app';
import { proposal, POLICY_SIGNING_KEY_TEXT, taskRequested } from './test/policy-harness';

/*
 * The policy service as it runs (its control module and its decision gate)
 * on the embedded engines: a kill published on the control topic, as
 * `leash kill` does, stops decisions in its scope until a resume lifts it.
 */
describe('the kill switch in the policy gate, on the embedded engines', () => {
  let directory: string;
  let engines: Engines;
  let service: RunningService;
  let commander: ControlCommander;
  let watcher: Subscription;
  type Outcome = Envelope<'leash.actions.decided.v1'> | Envelope<'leash.actions.rejected.v1'>;
  const seen: Outcome[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'leash-policy-kill-'));
    const env = {
      LEASH_BUS_FILE: join(directory, 'bus.db'),
      LEASH_STORE_FILE: join(directory, 'store.db'),
      LEASH_PARTITIONS: '2',
      LEASH_POLICY_SIGNING_KEY: POLICY_SIGNING_KEY_TEXT,
    };
    engines = await openEngines(loadConfig(POLICY_ENV, { env }), { source: 'policy' });
    service = await bootstrapPolicy({ engines, env, logger: false });
    commander = await ControlCommander.open(engines.bus, { source: 'policy-spec' });
    watcher = await engines.bus.subscribe(
      'policy-kill-spec-watcher',
      ['actions.decided', 'actions.rejected'],
      async (delivery) => {
        seen.push(delivery.event as Outcome);
      },
      { fromBeginning: true },
    );
  });

  afterAll(async () => {
    await watcher?.close();
    await commander?.close();
    await service?.close();
    await engines?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function outcomeOf(event: Envelope<'leash.actions.proposed.v1'>): Promise<Outcome> {
    // The gate decides a task's proposals once it has seen the task's input.
    await engines.bus.publish(
      'tasks.requested',
      taskRequested({ tenantId: event.tenantId!, taskId: event.taskId! }),
    );
    await engines.bus.publish('actions.proposed', event);
    return waitFor(() => seen.find((e) => e.data.actionId === event.data.actionId), {
      description: `the decision on ${event.data.actionId}`,
    });
  }

  const order = { reason: 'customers report strange emails', issuedBy: 'oncall@acme.example' };

  it('rejects proposals in a killed scope as killed, decides the rest, and decides again after a resume', async () => {
    const before = await outcomeOf(proposal({ tenantId: 'acme', taskId: 'k-before' }));
    expect(before.type).toBe('leash.actions.decided.v1');

    const killed = await commander.kill(
      { ...order, scope: { kind: 'tenant', tenantId: 'acme' } },
      { services: ['policy'] },
    );
    expect(killed.missing).toEqual([]);
    expect(killed.acks.map((a) => a.ack.service)).toEqual(['policy']);

    const inScope = await outcomeOf(proposal({ tenantId: 'acme', taskId: 'k-in-scope' }));
    expect(inScope).toMatchObject({
      type: 'leash.actions.rejected.v1',
      tenantId: 'acme',
      data: { gate: 'policy', code: 'killed' },
    });
    expect((inScope.data as { reason: string }).reason).toContain('tenant acme');
    expect((inScope.data as { reason: string }).reason).toContain(order.reason);

    const outside = await outcomeOf(proposal({ tenantId: 'globex', taskId: 'k-outside' }));
    expect(outside).toMatchObject({
      type: 'leash.actions.decided.v1',
      tenantId: 'globex',
      data: { decision: { route: 'allow' } },
    });

    const resumed = await commander.resume(
      { ...order, reason: 'fixed', scope: { kind: 'tenant', tenantId: 'acme' } },
      { services: ['policy'] },
    );
    expect(resumed.missing).toEqual([]);

    const after = await outcomeOf(proposal({ tenantId: 'acme', taskId: 'k-after' }));
    expect(after).toMatchObject({
      type: 'leash.actions.decided.v1',
      tenantId: 'acme',
      data: { decision: { route: 'allow' } },
    });
  });
});
