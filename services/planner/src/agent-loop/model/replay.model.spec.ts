import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelPort, ModelRequest, ModelResponse } from './model.port';
import { RecordingModel, ReplayModel } from './replay.model';

const answer: ModelResponse = {
  message: { content: 'done', toolCalls: [] },
  usage: { inputTokens: 10, outputTokens: 2 },
  model: 'gpt-4o-mini',
};

const recorded: ModelPort = { complete: async () => structuredClone(answer) };

function request(model: string): ModelRequest {
  return {
    model,
    messages: [
      { role: 'system', content: 'You are a helpdesk agent.' },
      { role: 'user', content: 'Reset my password.' },
    ],
    tools: [],
  };
}

describe('ReplayModel', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-replay-model-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a request made under the name replay from a run recorded under another model', async () => {
    const file = join(dir, 'run.json');
    await new RecordingModel(recorded, file).complete(request('gpt-4o-mini'));

    await expect(ReplayModel.fromFile(file).complete(request('replay'))).resolves.toEqual(answer);
  });

  it('refuses a conversation the recording does not hold, naming the recorded models', async () => {
    const file = join(dir, 'run.json');
    await new RecordingModel(recorded, file).complete(request('gpt-4o-mini'));
    const other: ModelRequest = {
      ...request('replay'),
      messages: [{ role: 'user', content: 'Something else.' }],
    };

    await expect(ReplayModel.fromFile(file).complete(other)).rejects.toThrow(
      /no answer for turn 0 .*recorded models gpt-4o-mini/,
    );
  });
});
