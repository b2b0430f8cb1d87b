import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import {
  ModelError,
  type ModelMessage,
  type ModelPort,
  type ModelRequest,
  type ModelResponse,
} from './model.port';

/*
 * Recorded runs. A recording is a JSON file of request -> response pairs.
 * A request is keyed by what makes a conversation itself: the model, its
 * opening (the system prompt and the task) and the turn number. Tool
 * results are not part of the key: ids a backend generates differ between
 * runs, and a replay is meant to replay the recorded decisions.
 */

const RecordedResponse = z.object({
  message: z.object({
    content: z.string().optional(),
    toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })),
  }),
  usage: z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
  }),
  model: z.string(),
});

const Recording = z.object({
  version: z.literal(1),
  entries: z.array(
    z.object({
      key: z.string(),
      model: z.string(),
      turn: z.number().int().nonnegative(),
      /** The task's first words, so a person can find an entry. */
      task: z.string(),
      response: RecordedResponse,
    }),
  ),
});
export type Recording = z.infer<typeof Recording>;

function opening(messages: readonly ModelMessage[]): string {
  return messages
    .filter((m) => m.role === 'system' || m.role === 'user')
    .slice(0, 2)
    .map((m) => (m.role === 'system' || m.role === 'user' ? m.content : ''))
    .join('\n\u0000\n');
}

/** The key of a request in a recording. */
export function recordingKey(request: Pick<ModelRequest, 'model' | 'messages'>): {
  key: string;
  turn: number;
} {
  const turn = request.messages.filter((m) => m.role === 'assistant').length;
  const key = createHash('sha256')
    .update(`${request.model}\n${turn}\n${opening(request.messages)}`)
    .digest('hex');
  return { key, turn };
}

export function readRecording(file: string): Recording {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the recording ${file}: ${(error as Error).message}`);
  }
  const parsed = Recording.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${file} is not a Leash model recording: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * The `replay` adapter: answers each request with the recorded response, or
 * refuses. A request comes in under the name `replay`, but the recording is
 * keyed by the model that answered it (`scripted`, `gpt-4o-mini`, ...), so
 * the lookup is made under each model name the recording holds.
 */
export class ReplayModel implements ModelPort {
  private readonly responses = new Map<string, ModelResponse>();
  private readonly recordedModels: readonly string[];

  constructor(recording: Recording) {
    // A key recorded twice (a conversation run twice): the last recording wins.
    for (const entry of recording.entries) this.responses.set(entry.key, entry.response);
    this.recordedModels = [...new Set(recording.entries.map((entry) => entry.model))];
  }

  static fromFile(file: string): ReplayModel {
    return new ReplayModel(readRecording(file));
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    request.signal?.throwIfAborted();
    const { key, turn } = recordingKey(request);
    for (const model of [request.model, ...this.recordedModels]) {
      const response = this.responses.get(recordingKey({ model, messages: request.messages }).key);
      if (response) return structuredClone(response);
    }
    const recorded = this.recordedModels.length > 0 ? this.recordedModels.join(', ') : 'none';
    throw new ModelError(
      `the recording has no answer for turn ${turn} of this conversation (model ${request.model}, recorded models ${recorded}, key ${key.slice(0, 12)})`,
      false,
    );
  }
}

/**
 * Wraps any adapter and writes every answered request to `file`, ready for
 * ReplayModel. Entries already in the file are kept. The file is rewritten
 * (atomically) after each answer, so a crash loses nothing recorded.
 */
export class RecordingModel implements ModelPort {
  private readonly recording: Recording;

  constructor(
    private readonly inner: ModelPort,
    private readonly file: string,
  ) {
    this.recording = existsSync(file) ? readRecording(file) : { version: 1, entries: [] };
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    const response = await this.inner.complete(request);
    const { key, turn } = recordingKey(request);
    const task = request.messages.find((m) => m.role === 'user');
    this.recording.entries.push({
      key,
      model: request.model,
      turn,
      task: task && task.role === 'user' ? task.content.slice(0, 200) : '',
      response: RecordedResponse.parse(response),
    });
    this.write();
    return response;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private write(): void {
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.recording, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}
