import { ReleaseCatalog } from '@leash/agents';
import { createEnvelope } from '@leash/contracts';
import { waitFor } from '@leash/testing';
import { LeashUnderTest } from '../eval/leash-under-test';
import { recordedWhole } from '../replay/recorded-run';
import { replayRuns } from '../replay/replay-runs';
import { FakeOpenAi, type ChatRequest, type ChatTurn } from './fake-openai';

/*
 * Counterfactual replay of a run made by a model over the OpenAI API (the
 * real client against a local server). With nothing changed, the model is
 * not asked at all. With a changed prompt, the model is asked again: it
 * makes the same first call (answered from the recording) and a different
 * second one, which the replay reports as the point of divergence, step 2.
 */

const TENANT = 'replay-model';
const MARK = 'URGENT-TICKETS';

function decide(request: ChatRequest): ChatTurn {
  const system = request.messages[0]?.content ?? '';
  const observed = request.messages.filter((m) => m.role === 'tool').length;
  if (observed === 0)
    return { call: { name: 'search_kb', args: { query: 'printer jam', limit: 3 } } };
  if (observed === 1) {
    return {
      call: {
        name: 'open_ticket',
        args: {
          requester: 'dana@acme.example',
          subject: 'Printer jam on floor 2',
          description: 'The printer on floor 2 jams on every job.',
          priority: system.includes(MARK) ? 'urgent' : 'normal',
        },
      },
    };
  }
  return { answer: 'I opened a ticket for the printer.' };
}

describe('leash replay of a model run', () => {
  const model = new FakeOpenAi(decide);
  let system: LeashUnderTest;
  const taskId = 'replay-model-printer';
  let modelEnv: Record<string, string>;

  beforeAll(async () => {
    await model.start();
    modelEnv = { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'sk-test', LEASH_MODEL: 'openai' };
    system = await LeashUnderTest.start({ tenants: [TENANT], reviewers: false, env: modelEnv });
    await system.bus.publish(
      'tasks.requested',
      createEnvelope(
        'leash.tasks.requested.v1',
        { agent: 'it-helpdesk', input: 'The printer on floor 2 jams. I am dana@acme.example.' },
        { source: 'e2e', tenantId: TENANT, taskId },
      ),
    );
    // The audit recorder is a consumer of its own: wait until it has the run whole.
    await waitFor(async () => (await recordedWhole(system.store, [taskId])) || undefined, {
      timeoutMs: 60_000,
      description: 'the audit to record the model run whole',
    });
  }, 90_000);

  afterAll(async () => {
    await system?.stop();
    await model.stop();
  });

  it('asks no model when nothing changes, and gives back the run', async () => {
    const asked = model.requests.length;
    expect(asked).toBe(3);
    const [run] = (await replayRuns(system.store, [taskId], { env: modelEnv })).runs;
    expect(model.requests.length).toBe(asked);
    expect(run!.verdict.kind).toBe('same');
    expect(run!.recorded.status).toBe('succeeded');
    expect(run!.replayed.steps).toEqual(run!.recorded.steps);
    expect(run!.turns).toEqual({ recorded: 3, answered: 3 });
  }, 60_000);

  it('reports a changed prompt as diverged at the step whose call changed', async () => {
    const view = await new ReleaseCatalog(system.store).release('it-helpdesk', 1);
    const prompt = `${view!.prompt.text!}\n${MARK}: every ticket you open is urgent.`;
    const asked = model.requests.length;
    const [run] = (await replayRuns(system.store, [taskId], { env: modelEnv, change: { prompt } }))
      .runs;
    // The model was asked again, under the new prompt, for both turns.
    expect(model.requests.length).toBe(asked + 2);
    expect(model.requests.at(-1)!.messages[0]!.content).toContain(MARK);
    expect(run!.modelAskedFrom).toEqual({ step: 1, reason: 'the prompt changed' });
    expect(run!.replayed.steps[0]).toEqual(run!.recorded.steps[0]);
    expect(run!.divergence).toMatchObject({ kind: 'tool', step: 2, stopped: true });
    expect(run!.verdict).toMatchObject({ kind: 'diverged', step: 2 });
    expect(run!.verdict.line).toContain('"priority":"urgent"');
    // Nothing outside changed: the urgent ticket was never opened.
    expect(run!.replayed.steps[1]).toMatchObject({
      tool: 'open_ticket',
      outcome: 'not run (not in the recording)',
    });
  }, 60_000);
});
