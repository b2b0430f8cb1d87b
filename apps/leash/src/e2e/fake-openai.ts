import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A chat completions request as a fake model reads it. */
export interface ChatRequest {
  readonly messages: { role: string; content?: string | null }[];
  readonly tools?: { function: { name: string } }[];
}

/** The model's turn: one function call, or a final answer. */
export type ChatTurn =
  { readonly call: { readonly name: string; readonly args: object } } | { readonly answer: string };

/**
 * A local server that speaks the OpenAI chat completions API, answering each
 * request with the turn `decide` picks: what end-to-end tests drive the real
 * `openai` client (and so the planner's openai adapter) with.
 */
export class FakeOpenAi {
  private server!: Server;
  url = '';
  /** Every request, in order. */
  readonly requests: ChatRequest[] = [];

  constructor(private readonly decide: (request: ChatRequest) => ChatTurn) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      const request = JSON.parse(raw) as ChatRequest;
      this.requests.push(request);
      const turn = this.decide(request);
      const step = request.messages.filter((m) => m.role === 'tool').length;
      const message =
        'call' in turn
          ? {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: `call_${step}`,
                  type: 'function',
                  function: { name: turn.call.name, arguments: JSON.stringify(turn.call.args) },
                },
              ],
            }
          : { role: 'assistant', content: turn.answer };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${step}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: 'gpt-4o-mini',
          choices: [{ index: 0, message, finish_reason: 'call' in turn ? 'tool_calls' : 'stop' }],
          usage: { prompt_tokens: 200, completion_tokens: 20, total_tokens: 220 },
        }),
      );
    });
  }
}
