/*
 * The one port every model adapter implements (openai, scripted, replay).
 * Messages and tools are provider-neutral; an adapter maps them to its API.
 */

export interface ModelToolCall {
  /** The provider's id of the call; the tool result names it. */
  readonly id: string;
  readonly name: string;
  /** Raw JSON text as the model produced it: it may not parse. */
  readonly arguments: string;
}

export type ModelMessage =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: string }
  | {
      readonly role: 'assistant';
      readonly content?: string;
      readonly toolCalls: readonly ModelToolCall[];
    }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly content: string };

/** A tool as the model sees it: JSON Schema parameters (built with openai/helpers/zod). */
export interface ModelTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  /** Structured-outputs strict mode: the model must match the schema exactly. */
  readonly strict: boolean;
}

/** Who is asking: adapters that script or trace use it; providers never see it. */
export interface ModelTaskContext {
  readonly taskId: string;
  readonly tenantId: string;
  readonly agent: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ModelRequest {
  readonly model: string;
  readonly messages: readonly ModelMessage[];
  readonly tools: readonly ModelTool[];
  /** Aborted by a kill, a deadline or a stopping consumer. */
  readonly signal?: AbortSignal;
  /** The output the budget reserved for; a provider is told not to exceed it. */
  readonly maxOutputTokens?: number;
  readonly task?: ModelTaskContext;
}

export interface ModelUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface ModelResponse {
  readonly message: { readonly content?: string; readonly toolCalls: readonly ModelToolCall[] };
  readonly usage: ModelUsage;
  /** The model that answered, as the provider names it. */
  readonly model: string;
}

export interface ModelPort {
  complete(request: ModelRequest): Promise<ModelResponse>;
  /** Flushes what the adapter keeps (a recording); optional. */
  close?(): Promise<void>;
}

/**
 * A failed model call. `transient` (timeouts, connection errors, 408/409/429,
 * 5xx after the client's own retries) is worth another attempt later;
 * anything else (400, 401, 403, 404, 422, a response we cannot read) is not.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Characters per token for estimates where a provider reports nothing: a deliberate overestimate. */
const CHARS_PER_TOKEN = 3;

/** A rough, deterministic token count of text: what reservations and the simulated models use. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** The estimated input tokens of a request: every message and tool schema, plus framing. */
export function estimateInputTokens(
  messages: readonly ModelMessage[],
  tools: readonly ModelTool[],
): number {
  let chars = 0;
  for (const message of messages) {
    chars += 16;
    if (message.role === 'assistant') {
      chars += message.content?.length ?? 0;
      for (const call of message.toolCalls) chars += call.name.length + call.arguments.length + 16;
    } else {
      chars += message.content.length;
    }
  }
  for (const tool of tools) chars += JSON.stringify(tool).length;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}
