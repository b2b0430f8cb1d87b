import { chatSpan, recordChatUsage } from '@leash/telemetry';
import type { ModelEngine } from '../agent-loop.config';
import type { ModelPort, ModelRequest, ModelResponse } from './model.port';

/** `gen_ai.provider.name` of each engine; the simulated ones are Leash's own. */
const PROVIDERS: Record<ModelEngine, string> = {
  openai: 'openai',
  scripted: 'leash.scripted',
  replay: 'leash.replay',
};

/**
 * Puts every model call in a `chat {model}` span (OpenTelemetry GenAI
 * conventions) with its token usage, whichever adapter answers it.
 */
export class TracedModel implements ModelPort {
  private readonly provider: string;

  constructor(
    private readonly inner: ModelPort,
    engine: ModelEngine,
  ) {
    this.provider = PROVIDERS[engine] ?? engine;
  }

  complete(request: ModelRequest): Promise<ModelResponse> {
    const task = request.task;
    return chatSpan(
      {
        model: request.model,
        provider: this.provider,
        service: 'planner',
        ...(request.maxOutputTokens !== undefined ? { maxTokens: request.maxOutputTokens } : {}),
        ...(task
          ? { task: { taskId: task.taskId, tenantId: task.tenantId, agent: task.agent } }
          : {}),
      },
      async (span) => {
        const response = await this.inner.complete(request);
        recordChatUsage(span, {
          inputTokens: response.usage.inputTokens,
          outputTokens: response.usage.outputTokens,
          responseModel: response.model,
          finishReasons: [response.message.toolCalls.length > 0 ? 'tool_calls' : 'stop'],
        });
        return response;
      },
    );
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
