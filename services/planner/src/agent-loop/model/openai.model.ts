import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import {
  ModelError,
  estimateInputTokens,
  estimateTokens,
  type ModelMessage,
  type ModelPort,
  type ModelRequest,
  type ModelResponse,
} from './model.port';

export interface OpenAiModelOptions {
  /** Optional for local OpenAI-compatible servers that take none. */
  readonly apiKey?: string;
  /** Any OpenAI-compatible endpoint; the OpenAI API when absent. */
  readonly baseURL?: string;
  /** Retries of the client itself, on connection errors, timeouts, 408, 409, 429 and 5xx. */
  readonly maxRetries: number;
  /** Per attempt. */
  readonly timeoutMs: number;
}

/** Statuses worth another attempt later; anything else 4xx is the request's fault. */
const TRANSIENT_STATUSES = new Set([408, 409, 429]);

/**
 * The `openai` adapter: chat completions with tools through the official
 * client. The client retries 429 and 5xx with backoff (honouring
 * retry-after) and times out each attempt; what still fails is mapped to a
 * transient or permanent ModelError.
 */
export class OpenAiModel implements ModelPort {
  private readonly client: OpenAI;

  constructor(options: OpenAiModelOptions) {
    this.client = new OpenAI({
      // The client insists on a key; compatible local servers ignore it.
      apiKey: options.apiKey ?? 'unused',
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      maxRetries: options.maxRetries,
      timeout: options.timeoutMs,
    });
  }

  async complete(request: ModelRequest): Promise<ModelResponse> {
    let completion: ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(
        {
          model: request.model,
          messages: request.messages.map(toOpenAi),
          ...(request.tools.length > 0 ? { tools: request.tools.map(toOpenAiTool) } : {}),
          ...(request.maxOutputTokens ? { max_completion_tokens: request.maxOutputTokens } : {}),
        },
        request.signal ? { signal: request.signal } : {},
      );
    } catch (error) {
      throw mapError(error, request.signal);
    }
    const choice = completion.choices?.[0];
    if (!choice?.message) {
      throw new ModelError('the model answered without a message', false);
    }
    const message = choice.message;
    const toolCalls = (message.tool_calls ?? []).flatMap((call) =>
      call.type === 'function'
        ? [
            {
              id: call.id,
              name: fromWireName(call.function.name, request.tools),
              arguments: call.function.arguments ?? '',
            },
          ]
        : [],
    );
    const content = message.content ?? undefined;
    // A server that reports no usage still spent tokens: estimate rather than record nothing.
    const usage = completion.usage
      ? {
          inputTokens: completion.usage.prompt_tokens ?? 0,
          outputTokens: completion.usage.completion_tokens ?? 0,
        }
      : {
          inputTokens: estimateInputTokens(request.messages, request.tools),
          outputTokens: estimateTokens(
            (content ?? '') + toolCalls.map((c) => c.name + c.arguments).join(''),
          ),
        };
    return {
      message: { ...(content !== undefined ? { content } : {}), toolCalls },
      usage,
      model: completion.model || request.model,
    };
  }
}

function toOpenAi(message: ModelMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return { role: 'user', content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content ?? null,
        ...(message.toolCalls.length > 0
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: wireName(call.name), arguments: call.arguments },
              })),
            }
          : {}),
      };
  }
}

/**
 * A tool's name as function names may be (letters, digits, _ and -): an MCP
 * server's tool, `server.tool` in Leash, is `server__tool` on the wire.
 */
export function wireName(name: string): string {
  return name.replace('.', '__');
}

/** The Leash name of a function the model called: the tool of the request whose wire name it is. */
function fromWireName(name: string, tools: ModelRequest['tools']): string {
  return tools.find((tool) => wireName(tool.name) === name)?.name ?? name;
}

function toOpenAiTool(tool: ModelRequest['tools'][number]): ChatCompletionTool {
  return {
    type: 'function',
    function: {
      name: wireName(tool.name),
      description: tool.description,
      parameters: tool.parameters,
      strict: tool.strict,
    },
  };
}

/** Maps a client error to a ModelError; an abort is rethrown as its reason, so the caller can tell why. */
export function mapError(error: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? error;
  if (error instanceof OpenAI.APIUserAbortError) return error;
  // The client's own timeout aborts its fetch; where it cannot tell (another realm's AbortError) it
  // reports a connection error caused by an abort. The caller's signal is not aborted, so it timed out.
  if (
    error instanceof OpenAI.APIConnectionTimeoutError ||
    (error instanceof OpenAI.APIConnectionError &&
      (error.cause as Error | undefined)?.name === 'AbortError')
  ) {
    return new ModelError(`the model timed out: ${error.message}`, true, undefined, {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new ModelError(`cannot reach the model: ${error.message}`, true, undefined, {
      cause: error,
    });
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    const transient = status !== undefined && (TRANSIENT_STATUSES.has(status) || status >= 500);
    return new ModelError(
      `the model answered ${status ?? 'an error'}: ${error.message}`,
      transient,
      status,
      { cause: error },
    );
  }
  return new ModelError(
    `the model call failed: ${error instanceof Error ? error.message : String(error)}`,
    false,
    undefined,
    { cause: error },
  );
}
