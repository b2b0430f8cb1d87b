import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_AGENT_VERSION,
  ATTR_GEN_AI_CONVERSATION_ID,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_DESCRIPTION,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_TOOL_TYPE,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
} from '@opentelemetry/semantic-conventions/incubating';
import { LEASH, taskAttributes, taskRefOf, type EventLike, type TaskRef } from './attributes';
import { inSpan } from './tracing';

/*
 * OpenTelemetry GenAI semantic conventions: `invoke_agent {agent}` around a
 * task's agent loop step, `chat {model}` around a model call and
 * `execute_tool {tool}` around a tool run. Every span also carries the task
 * attributes, so a trace viewer can filter one task's model and tool calls.
 */

export {
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
};

export interface ChatInfo {
  readonly model: string;
  /** `openai`, or Leash's own engines: `leash.scripted`, `leash.replay`. */
  readonly provider: string;
  readonly task?: TaskRef;
  readonly service?: string;
  readonly maxTokens?: number;
}

export interface ChatUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly responseModel?: string;
  readonly responseId?: string;
  readonly finishReasons?: readonly string[];
}

/** Runs a model call inside a `chat {model}` client span; record its usage with `recordChatUsage`. */
export function chatSpan<T>(info: ChatInfo, work: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(
    `chat ${info.model}`,
    { kind: SpanKind.CLIENT, ...startAttributes(info.service), detail: () => chatAttributes(info) },
    work,
  );
}

function chatAttributes(info: ChatInfo): Attributes {
  const attributes: Attributes = {
    ...taskAttributes(info.task ?? {}),
    [ATTR_GEN_AI_OPERATION_NAME]: 'chat',
    [ATTR_GEN_AI_PROVIDER_NAME]: info.provider,
    [ATTR_GEN_AI_REQUEST_MODEL]: info.model,
  };
  if (info.maxTokens !== undefined) attributes[ATTR_GEN_AI_REQUEST_MAX_TOKENS] = info.maxTokens;
  if (info.task?.taskId) attributes[ATTR_GEN_AI_CONVERSATION_ID] = info.task.taskId;
  if (info.service) attributes[LEASH.service] = info.service;
  return attributes;
}

/** A span's start attributes: its service alone (which picks its resource); the rest is detail. */
function startAttributes(service: string | undefined): { attributes?: Attributes } {
  return service ? { attributes: { [LEASH.service]: service } } : {};
}

export function recordChatUsage(span: Span, usage: ChatUsage): void {
  if (!span.isRecording()) return;
  if (usage.inputTokens !== undefined)
    span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, usage.inputTokens);
  if (usage.outputTokens !== undefined)
    span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, usage.outputTokens);
  if (usage.responseModel) span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, usage.responseModel);
  if (usage.responseId) span.setAttribute(ATTR_GEN_AI_RESPONSE_ID, usage.responseId);
  if (usage.finishReasons) {
    span.setAttribute(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [...usage.finishReasons]);
  }
}

export interface ToolInfo {
  readonly tool: string;
  /** The action id: the tool call's id and its idempotency key. */
  readonly callId: string;
  readonly description?: string;
  readonly task?: TaskRef;
  readonly service?: string;
}

/** Runs a tool inside an `execute_tool {tool}` internal span. */
export function executeToolSpan<T>(info: ToolInfo, work: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(
    `execute_tool ${info.tool}`,
    {
      kind: SpanKind.INTERNAL,
      ...startAttributes(info.service),
      detail: () => toolAttributes(info),
    },
    work,
  );
}

function toolAttributes(info: ToolInfo): Attributes {
  const attributes: Attributes = {
    ...taskAttributes(info.task ?? {}),
    [ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
    [ATTR_GEN_AI_TOOL_NAME]: info.tool,
    [ATTR_GEN_AI_TOOL_CALL_ID]: info.callId,
    [ATTR_GEN_AI_TOOL_TYPE]: 'function',
    [LEASH.actionId]: info.callId,
  };
  if (info.description) attributes[ATTR_GEN_AI_TOOL_DESCRIPTION] = info.description.slice(0, 500);
  if (info.service) attributes[LEASH.service] = info.service;
  return attributes;
}

export interface AgentInfo {
  /** Unknown for events that do not name it (a budget decision); the span is then `invoke_agent`. */
  readonly agent?: string;
  readonly agentVersion?: number;
  readonly task?: TaskRef;
  readonly service?: string;
}

/** Runs one turn of an agent's loop inside an `invoke_agent {agent}` internal span. */
export function invokeAgentForEvent<T>(
  event: EventLike,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const task = taskRefOf(event);
  return invokeAgentSpan({ task, service: 'planner' }, work);
}

export function invokeAgentSpan<T>(info: AgentInfo, work: (span: Span) => Promise<T>): Promise<T> {
  const agent = info.agent ?? info.task?.agent;
  return inSpan(
    agent ? `invoke_agent ${agent}` : 'invoke_agent',
    {
      kind: SpanKind.INTERNAL,
      ...startAttributes(info.service),
      detail: () => agentAttributes(info),
    },
    work,
  );
}

function agentAttributes(info: AgentInfo): Attributes {
  const attributes: Attributes = {
    ...taskAttributes({
      ...info.task,
      agent: info.agent ?? info.task?.agent,
      agentVersion: info.agentVersion ?? info.task?.agentVersion,
    }),
    [ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
  };
  const agent = info.agent ?? info.task?.agent;
  if (agent) attributes[ATTR_GEN_AI_AGENT_NAME] = agent;
  if (info.agentVersion !== undefined) {
    attributes[ATTR_GEN_AI_AGENT_VERSION] = String(info.agentVersion);
  }
  if (info.task?.taskId) attributes[ATTR_GEN_AI_CONVERSATION_ID] = info.task.taskId;
  if (info.service) attributes[LEASH.service] = info.service;
  return attributes;
}
