import type { DeadLetter, Subscription } from '@leash/bus';
import { encodeEnvelope } from '@leash/contracts';
import { PLANNER_TASKS, REFERENCE_SCENARIOS, scenarioTask } from '@leash/service-planner';
import { waitFor } from '@leash/testing';
import { LeashUnderTest } from '../eval/leash-under-test';

/*
 * A task event with bad fields, forged past the client's validation onto
 * tasks.requested: every consumer validates at the edge, so it lands in
 * leash.tasks.requested.dlq with the validation error, nothing starts, and
 * the next good task runs.
 */
describe('a tasks.requested event with bad fields', () => {
  let system: LeashUnderTest;
  let dlq: Subscription | undefined;
  const letters: DeadLetter[] = [];

  beforeAll(async () => {
    system = await LeashUnderTest.start({ tenants: ['bad-input'] });
    dlq = await system.leash.engines.bus.subscribeDeadLetters(
      'e2e-dlq-reader',
      ['tasks.requested'],
      async (letter) => void letters.push(letter),
    );
  });

  afterAll(async () => {
    await dlq?.close();
    await system?.stop();
  });

  it('lands in the dead-letter topic with the validation reason, and the system goes on', async () => {
    const vpn = REFERENCE_SCENARIOS.find((s) => s.id === 'it-helpdesk.vpn-answer')!;
    const good = scenarioTask(vpn, { tenantId: 'bad-input', taskId: 'bad-fields-1' });
    const wire = encodeEnvelope('tasks.requested', good);
    // A valid envelope whose data breaks the schema: an empty agent, a number for the input.
    const forged = {
      ...wire,
      value: Buffer.from(JSON.stringify({ agent: '', input: 42, metadata: {} })),
    };
    await system.leash.engines.bus.publishRaw('tasks.requested', forged);

    const letter = await waitFor(
      () => letters.find((l) => l.headers.ce_id === good.id && l.group === 'planner'),
      { description: "the planner's dead letter" },
    );
    expect(letter).toMatchObject({
      topic: 'leash.tasks.requested.dlq',
      originalTopic: 'leash.tasks.requested',
      attempts: 0,
      key: 'bad-fields-1',
    });
    expect(letter.error).toMatch(/agent/);
    expect(letter.error).toMatch(/input/);
    expect(JSON.parse(letter.value.toString())).toEqual({ agent: '', input: 42, metadata: {} });
    expect(await system.store.repository(PLANNER_TASKS).get('bad-fields-1')).toBeUndefined();

    // The partition is not blocked: a good task after it runs to its end.
    const taskId = await system.submit(vpn, { tenantId: 'bad-input' });
    const [record] = await system.finished([taskId]);
    expect(record.finished?.status).toBe('succeeded');
  });
});
