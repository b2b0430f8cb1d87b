import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REFERENCE_TOOLS } from '@leash/agents';
import { waitFor } from '@leash/testing';
import { ModelError, type ModelRequest } from './model.port';
import { OpenAiModel } from './openai.model';
import { modelToolOf } from './tool-schemas';
import { openLoopHarness, type LoopHarness } from '../test/loop-harness';
import { readObservation } from '../task-state/conversation';

/*
 * The real openai client against a local server that speaks the chat
 * completions API: each request is answered by the next scripted reply.
 */

type Reply =
  | { readonly status: number; readonly body: unknown; readonly headers?: Record<string, string> }
  | { readonly hang: true };

interface SeenRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
}

class FakeChatServer {
  readonly seen: SeenRequest[] = [];
  private replies: Reply[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  reply(...replies: Reply[]): void {
    this.replies.push(...replies);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      this.seen.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw || '{}') });
      const reply = this.replies.shift() ?? {
        status: 500,
        body: { error: { message: 'no reply scripted' } },
      };
      if ('hang' in reply) {
        this.hanging.add(res);
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body));
    });
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function completion(
  message: { content?: string | null; tool_calls?: unknown[] },
  usage: { prompt_tokens: number; completion_tokens: number } | null = {
    prompt_tokens: 120,
    completion_tokens: 30,
  },
): Reply {
  return {
    status: 200,
    body: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          finish_reason: message.tool_calls ? 'tool_calls' : 'stop',
          message: {
            role: 'assistant',
            content: message.content ?? null,
            ...(message.tool_calls ? { tool_calls: message.tool_calls } : {}),
          },
        },
      ],
      ...(usage
        ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } }
        : {}),
    },
  };
}

function toolCall(id: string, name: string, args: string) {
  return { id, type: 'function', function: { name, arguments: args } };
}

const error = (status: number, message: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { error: { message, type: 'server_error', code: null } },
  ...(headers ? { headers } : {}),
});

function request(overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a test.' },
      { role: 'user', content: 'Search the KB for vpn.' },
    ],
    tools: [modelToolOf(REFERENCE_TOOLS.tool('search_kb')!)],
    maxOutputTokens: 256,
    ...overrides,
  };
}

describe('OpenAiModel with the real openai client', () => {
  let server: FakeChatServer;

  beforeEach(async () => {
    server = new FakeChatServer();
    await server.start();
  });
  afterEach(() => server.stop());

  // Retries wait a jittered backoff of 0.5-1 s each in the client: fine for a few.
  const model = (options: Partial<{ maxRetries: number; timeoutMs: number }> = {}) =>
    new OpenAiModel({
      apiKey: 'sk-test',
      baseURL: server.url,
      maxRetries: 2,
      timeoutMs: 5_000,
      ...options,
    });

  it('sends messages, tools as JSON Schema and the output cap; reads tool calls and usage', async () => {
    server.reply(
      completion({
        content: 'Looking it up.',
        tool_calls: [
          toolCall('call_a', 'search_kb', '{"query":"vpn","limit":3}'),
          toolCall('call_b', 'search_kb', '{"query":"error 809","limit":1}'),
        ],
      }),
    );
    const response = await model().complete(request());
    expect(response).toEqual({
      message: {
        content: 'Looking it up.',
        toolCalls: [
          { id: 'call_a', name: 'search_kb', arguments: '{"query":"vpn","limit":3}' },
          { id: 'call_b', name: 'search_kb', arguments: '{"query":"error 809","limit":1}' },
        ],
      },
      usage: { inputTokens: 120, outputTokens: 30 },
      model: 'gpt-4o-mini-2024-07-18',
    });
    const [seen] = server.seen;
    expect(seen!.path).toBe('/v1/chat/completions');
    expect(seen!.headers.authorization).toBe('Bearer sk-test');
    expect(seen!.body).toMatchObject({
      model: 'gpt-4o-mini',
      max_completion_tokens: 256,
      messages: [
        { role: 'system', content: 'You are a test.' },
        { role: 'user', content: 'Search the KB for vpn.' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'search_kb',
            strict: true,
            parameters: {
              type: 'object',
              required: ['query', 'limit'],
              additionalProperties: false,
            },
          },
        },
      ],
    });
  });

  it('sends earlier tool calls and tool results back in the chat format', async () => {
    server.reply(completion({ content: 'Done.' }));
    await model().complete(
      request({
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'u' },
          {
            role: 'assistant',
            toolCalls: [{ id: 'call_a', name: 'search_kb', arguments: '{"query":"vpn"}' }],
          },
          { role: 'tool', toolCallId: 'call_a', content: 'result' },
        ],
      }),
    );
    expect(server.seen[0]!.body['messages']).toEqual([
      { role: 'system', content: 's' },
      { role: 'user', content: 'u' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_a',
            type: 'function',
            function: { name: 'search_kb', arguments: '{"query":"vpn"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'result' },
    ]);
  });

  it('estimates usage when the server reports none', async () => {
    server.reply(completion({ content: 'An answer.' }, null));
    const response = await model().complete(request());
    expect(response.usage.inputTokens).toBeGreaterThan(0);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
  });

  it('retries a 429 and a 500, then answers', async () => {
    server.reply(
      error(429, 'Rate limit reached', { 'retry-after-ms': '10' }),
      error(500, 'The server had an error', { 'retry-after-ms': '10' }),
      completion({ content: 'Third time lucky.' }),
    );
    const response = await model().complete(request());
    expect(response.message.content).toBe('Third time lucky.');
    expect(server.seen).toHaveLength(3);
    // The client marks retries; the body is the same request each time.
    expect(server.seen.map((s) => s.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2']);
    expect(new Set(server.seen.map((s) => JSON.stringify(s.body))).size).toBe(1);
  });

  it('reports 429 and 5xx as transient once retries are spent', async () => {
    server.reply(
      error(503, 'overloaded', { 'retry-after-ms': '10' }),
      error(503, 'still overloaded', { 'retry-after-ms': '10' }),
    );
    const failure = await model({ maxRetries: 1 })
      .complete(request())
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelError);
    expect(failure).toMatchObject({ transient: true, status: 503 });
    expect((failure as Error).message).toMatch(/503.*still overloaded/);
    expect(server.seen).toHaveLength(2);
  });

  it.each([
    [400, 'Invalid schema for function'],
    [401, 'Incorrect API key provided'],
    [404, 'The model does not exist'],
  ])('reports a %i as permanent, without retrying', async (status, message) => {
    server.reply(error(status, message));
    const failure = await model()
      .complete(request())
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: 'ModelError', transient: false, status });
    expect(server.seen).toHaveLength(1);
  });

  it('times out a hanging server, retries the timeout, and reports it as transient', async () => {
    server.reply({ hang: true }, { hang: true });
    const failure = await model({ timeoutMs: 200, maxRetries: 1 })
      .complete(request())
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: 'ModelError', transient: true });
    // Under plain node the client names it a timeout; inside jest's sandbox the abort error comes
    // from another realm and the client can only say "connection error". Transient either way.
    expect((failure as Error).message).toMatch(/timed out|cannot reach the model/);
    expect(server.seen).toHaveLength(2);
  });

  it('rethrows the abort reason when the call is aborted (a kill)', async () => {
    server.reply({ hang: true });
    const controller = new AbortController();
    const calling = model().complete(request({ signal: controller.signal }));
    const reason = new Error('killed by oncall');
    await waitForSeen(server, 1);
    controller.abort(reason);
    await expect(calling).rejects.toBe(reason);
  });

  describe('in the agent loop', () => {
    let h: LoopHarness;
    afterEach(() => h?.close());

    it('reports malformed tool-call JSON back to the model and carries on', async () => {
      server.reply(
        completion({
          tool_calls: [
            toolCall('call_bad', 'search_kb', '{"query": "vpn", "limit": '),
            toolCall('call_ok', 'search_kb', '{"query":"vpn","limit":2}'),
          ],
        }),
        completion({ content: 'Use KB-001.' }),
      );
      h = await openLoopHarness({ model: model(), loop: { modelName: () => 'gpt-4o-mini' } });
      const taskId = await h.start({ id: 'openai', agent: 'it-helpdesk', input: 'VPN help' });
      await h.decide(taskId);
      const proposals = await h.events('leash.actions.proposed.v1');
      expect(proposals.map((p) => p.data.arguments)).toEqual([{ query: 'vpn', limit: 2 }]);
      await h.complete(proposals[0]!.data.actionId, { articles: [{ articleId: 'KB-001' }] });
      await h.decide(taskId);

      const messages = server.seen[1]!.body['messages'] as {
        role: string;
        tool_call_id?: string;
        content: string;
      }[];
      const tools = messages.filter((m) => m.role === 'tool');
      expect(tools.map((m) => m.tool_call_id)).toEqual(['call_bad', 'call_ok']);
      expect(readObservation(tools[0]!.content)).toMatchObject({
        observation: 'malformed',
        tool: 'search_kb',
        error: expect.stringMatching(/not valid JSON/),
      });
      const [finished] = await h.events('leash.tasks.finished.v1');
      expect(finished!.data).toMatchObject({ status: 'succeeded', result: 'Use KB-001.' });
      expect(finished!.data.cost).toMatchObject({ inputTokens: 240, outputTokens: 60 });
      const usage = await h.events('leash.usage.recorded.v1');
      // gpt-4o-mini in the harness's table: 0.15 / 0.6 USD per million tokens.
      expect(usage.map((u) => u.data.usdMicros)).toEqual([
        Math.ceil(120 * 0.15 + 30 * 0.6),
        Math.ceil(120 * 0.15 + 30 * 0.6),
      ]);
    });
  });
});

async function waitForSeen(server: FakeChatServer, count: number): Promise<void> {
  await waitFor(() => server.seen.length >= count, {
    description: `${count} request(s) at the server`,
  });
}
