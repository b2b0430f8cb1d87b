import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditRecorder, auditEntries, runSummaries, runToolId, runTools } from '@leash/audit';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope } from '@leash/contracts';
import { openEngines, type Engines } from '@leash/engines';
import type { Store } from '@leash/store';
import { waitFor } from '@leash/testing';
import { formatTrajectory } from './cli/audit.command';

/*
 * The audit recorder gathers deliveries into one transaction per batch. What
 * must not change with it: every event recorded once, the run summary
 * folding each of them once, and one event that cannot be recorded failing
 * alone (to the dead-letter topic) while the rest of its batch is recorded.
 */

const task = (taskId: string, i: number) =>
  createEnvelope(
    'leash.tasks.requested.v1',
    { agent: 'it-helpdesk', input: `request ${i}` },
    { source: 'audit-spec', tenantId: 'acme', taskId },
  );

/** A store whose audit-entry inserts fail for the ids in `poisoned`, as a bad document would. */
function failingFor(store: Store, poisoned: ReadonlySet<string>): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'transaction') return Reflect.get(target, property, receiver);
      return (fn: (tx: unknown) => Promise<unknown>) =>
        target.transaction((tx) =>
          fn(
            new Proxy(tx, {
              get(inner, name, innerReceiver) {
                if (name !== 'repository') return Reflect.get(inner, name, innerReceiver);
                return (aggregate: unknown) => {
                  const repository = inner.repository(aggregate as typeof auditEntries);
                  if (aggregate !== auditEntries) return repository;
                  return {
                    ...repository,
                    insertIfAbsent: (doc: { entryId: string }) =>
                      poisoned.has(doc.entryId)
                        ? Promise.reject(new Error(`cannot record ${doc.entryId}`))
                        : repository.insertIfAbsent(doc as never),
                  };
                };
              },
            }),
          ),
        );
    },
  });
}

describe('AuditRecorder on the embedded engines', () => {
  let dir: string;
  let engines: Engines;
  let recorder: AuditRecorder | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-audit-recorder-'));
    const env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    engines = await openEngines(loadConfig(BASE_ENV, { env }), {
      source: 'audit-spec',
      relayOutbox: false,
    });
  });

  afterEach(async () => {
    await recorder?.stop();
    recorder = undefined;
    await engines.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const entry = (id: string) => engines.store.repository(auditEntries).get(id);
  const run = (taskId: string) => engines.store.repository(runSummaries).get(taskId);

  it('records a burst of events once each and folds each into its run once, redeliveries included', async () => {
    recorder = new AuditRecorder({ bus: engines.bus, store: engines.store, lingerMs: 20 });
    await recorder.start();
    const events = Array.from({ length: 12 }, (_, i) => task(`task-${i % 3}`, i));
    await Promise.all(events.map((event) => engines.bus.publish('tasks.requested', event)));
    // The same events again, as a redelivery would bring them.
    await Promise.all(events.map((event) => engines.bus.publish('tasks.requested', event)));

    await waitFor(
      async () => (await engines.store.repository(auditEntries).count()) === events.length,
      { description: 'an entry per event' },
    );
    for (const event of events) expect((await entry(event.id))?.doc.type).toBe(event.type);
    // Every delivery, duplicates included, is committed once recorded: then the runs are final.
    await waitFor(
      async () => (await engines.bus.lag!()).every((l) => l.group !== 'audit' || l.lag === 0),
      { description: 'the audit group caught up' },
    );
    for (const taskId of ['task-0', 'task-1', 'task-2']) {
      expect((await run(taskId))?.doc.events).toBe(4);
    }
  });

  it("keeps each tool row's copy of its run current, writing it only when that copy changes", async () => {
    recorder = new AuditRecorder({ bus: engines.bus, store: engines.store });
    const attributes = { source: 'audit-spec', tenantId: 'acme', taskId: 'task-tools' };
    const toolRow = () =>
      engines.store.repository(runTools).get(runToolId('task-tools', 'lookup_customer'));
    const usage = (usdMicros: number) =>
      createEnvelope(
        'leash.usage.recorded.v1',
        { usageId: `u-${usdMicros}`, taskId: 'task-tools', kind: 'model', usdMicros },
        attributes,
      );
    await recorder.record(
      'actions.proposed',
      createEnvelope(
        'leash.actions.proposed.v1',
        {
          actionId: 'a1',
          agent: { name: 'support', version: 1 },
          tool: 'lookup_customer',
          arguments: { customer: 'C-1' },
          step: 1,
          reason: 'look the customer up',
          versions: {},
        },
        attributes,
      ),
    );
    expect(await toolRow()).toMatchObject({ version: 1, doc: { costUsdMicros: 0 } });

    await recorder.record('usage.recorded', usage(0)); // the run changes, its cost does not
    expect((await run('task-tools'))?.doc.events).toBe(2);
    expect((await toolRow())?.version).toBe(1);

    await recorder.record('usage.recorded', usage(250));
    expect(await toolRow()).toMatchObject({ version: 2, doc: { costUsdMicros: 250 } });
  });

  it('dead-letters the one event it cannot record and records the rest of its batch', async () => {
    // One task each: on different partitions, so they are delivered together and share a batch.
    const events = Array.from({ length: 6 }, (_, i) => task(`task-batch-${i}`, i));
    const bad = events[2]!;
    recorder = new AuditRecorder({
      bus: engines.bus,
      store: failingFor(engines.store, new Set([bad.id])),
      lingerMs: 50,
    });
    await recorder.start();
    await Promise.all(events.map((event) => engines.bus.publish('tasks.requested', event)));

    const good = events.filter((event) => event !== bad);
    await waitFor(async () => (await Promise.all(good.map((e) => entry(e.id)))).every(Boolean), {
      description: 'the other events of the batch, recorded',
    });
    await waitFor(
      async () =>
        (await engines.store.repository(auditEntries).find()).some(
          (e) => e.doc.kind === 'dead_letter' && e.doc.summary.includes(`cannot record ${bad.id}`),
        ),
      { description: 'the dead letter of the bad event, audited' },
    );
    expect(await entry(bad.id)).toBeUndefined();
    expect(await run(bad.taskId!)).toBeUndefined();
    for (const event of good) expect((await run(event.taskId!))?.doc.events).toBe(1);
  });

  it('records the id and claimed source of a forged event it dead-letters, and leash audit shows them', async () => {
    recorder = new AuditRecorder({ bus: engines.bus, store: engines.store, lingerMs: 0 });
    await recorder.start();
    // A structured-mode CloudEvent claiming to be the approvals gate, with data no schema accepts.
    const forged = {
      specversion: '1.0',
      id: 'evt-forged-authorization',
      source: 'approvals',
      type: 'leash.actions.authorized.v1',
      time: '2026-01-01T00:00:00.000Z',
      taskid: 'task-forged',
      tenantid: 'acme',
      datacontenttype: 'application/json',
      data: { tool: 'transfer_funds', approval: { reviewers: ['nobody'] } },
    };
    await engines.bus.publishRaw('actions.authorized', {
      key: 'task-forged',
      value: Buffer.from(JSON.stringify(forged)),
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    });
    const letter = await waitFor(
      async () =>
        (await engines.store.repository(auditEntries).find({ where: { taskId: 'task-forged' } }))
          .map((stored) => stored.doc)
          .find((doc) => doc.kind === 'dead_letter'),
      { description: 'the forged event, dead-lettered and audited' },
    );
    expect(letter).toMatchObject({
      source: 'approvals',
      type: 'leash.actions.authorized.v1',
      tenantId: 'acme',
      data: {
        eventId: 'evt-forged-authorization',
        claimedSource: 'approvals',
        claimedFrom: 'value',
      },
    });
    const lines = formatTrajectory(undefined, [letter]);
    expect(lines.find((line) => line.includes('dead letter'))).toContain(
      'event evt-forged-authorization claiming source approvals (at leash.actions.authorized/',
    );
  });
});
