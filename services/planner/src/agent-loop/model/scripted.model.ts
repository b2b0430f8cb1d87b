import {
  SCENARIO_METADATA_KEY,
  type ScenarioScript,
  type ScriptedConversation,
  type ScriptedObservation,
} from '@leash/agents';
import { readObservation, readUntrusted } from '../task-state/conversation';
import {
  ModelError,
  estimateInputTokens,
  estimateTokens,
  type ModelMessage,
  type ModelPort,
  type ModelRequest,
  type ModelResponse,
  type ModelToolCall,
} from './model.port';

/** Where the scripted model finds the script for a task. */
export interface ScriptSource {
  /** By the scenario tag in the task's metadata. */
  byId(id: string): ScenarioScript | undefined;
  /** By the task's exact input, for tasks submitted without a tag. */
  byInput(agent: string, input: string): ScenarioScript | undefined;
  /** What the agent does with a task no scenario names; undefined: refuse. */
  fallback(agent: string): ScenarioScript | undefined;
}

/**
 * The `scripted` adapter: deterministic answers for the demo and tests. The
 * script of a task is found by the `scenario` tag in its metadata, else by
 * its input, else the agent's default script; it is called with the
 * conversation so far (rebuilt from the messages) and returns the next turn.
 * Token usage is estimated from the text, so budgets and costs behave.
 */
export class ScriptedModel implements ModelPort {
  constructor(private readonly scripts: ScriptSource) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    request.signal?.throwIfAborted();
    const conversation = conversationOf(request.messages);
    const tag = request.task?.metadata[SCENARIO_METADATA_KEY];
    const script =
      (tag !== undefined ? this.scripts.byId(tag) : undefined) ??
      this.scripts.byInput(conversation.agent, conversation.input) ??
      this.scripts.fallback(conversation.agent);
    if (!script) {
      throw new ModelError(
        `no script for this task: tag it with metadata.${SCENARIO_METADATA_KEY} or submit a scenario's input`,
        false,
      );
    }
    const turn = script(conversation);
    let content: string | undefined;
    let toolCalls: ModelToolCall[] = [];
    if ('final' in turn) {
      content = turn.final;
    } else {
      content = turn.say;
      toolCalls = turn.calls.map((call, index) => ({
        id: `call_${conversation.turn + 1}_${index}`,
        name: call.tool,
        arguments:
          typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
      }));
    }
    const produced = (content ?? '') + toolCalls.map((call) => call.name + call.arguments).join('');
    return {
      message: { ...(content !== undefined ? { content } : {}), toolCalls },
      usage: {
        inputTokens: estimateInputTokens(request.messages, request.tools),
        outputTokens: Math.max(1, estimateTokens(produced)),
      },
      model: request.model,
    };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The conversation a script sees, read back from the messages the planner wrote. */
export function conversationOf(messages: readonly ModelMessage[]): ScriptedConversation {
  let agent = '';
  let input = '';
  let turn = 0;
  const calls = new Map<
    string,
    { turn: number; tool: string; arguments?: Record<string, unknown> }
  >();
  const observations: ScriptedObservation[] = [];
  const notices: string[] = [];
  for (const message of messages) {
    if (message.role === 'user') {
      const observation = readObservation(message.content);
      if (observation?.observation === 'task') {
        agent = observation.agent;
        input = readUntrusted(message.content) ?? '';
      } else if (observation?.observation === 'notice') {
        notices.push(observation.reason);
      }
    } else if (message.role === 'assistant') {
      turn += 1;
      for (const call of message.toolCalls) {
        const parsed = parseJson(call.arguments);
        calls.set(call.id, {
          turn,
          tool: call.name,
          ...(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
            ? { arguments: parsed as Record<string, unknown> }
            : {}),
        });
      }
    } else if (message.role === 'tool') {
      const call = calls.get(message.toolCallId);
      const observation = readObservation(message.content);
      if (!call || !observation) continue;
      const base = {
        turn: call.turn,
        tool: call.tool,
        ...(call.arguments ? { arguments: call.arguments } : {}),
      };
      if (observation.observation === 'result') {
        const text = readUntrusted(message.content) ?? '';
        observations.push({ ...base, status: observation.status, text, output: parseJson(text) });
      } else if (observation.observation === 'rejected') {
        observations.push({
          ...base,
          status: 'rejected',
          gate: observation.gate,
          code: observation.code,
          reason: observation.reason,
          ...(observation.feedback ? { feedback: observation.feedback } : {}),
        });
      } else if (observation.observation === 'malformed') {
        observations.push({ ...base, status: 'malformed', reason: observation.error });
      }
    }
  }
  return {
    agent,
    input,
    turn,
    observations,
    lastTurn: observations.filter((o) => o.turn === turn),
    notices,
  };
}
