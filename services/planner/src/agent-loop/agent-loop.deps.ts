import type { TypicalCosts } from './cost-guard/cost-guard';
import { createHash } from 'node:crypto';
import type { AgentProfile, ProfileSource, SystemPrompt, ToolSource } from '@leash/agents';
import type { PriceTable } from '@leash/config';
import type { KillV1 } from '@leash/contracts';
import type { KillTarget } from '@leash/kill-switch';
import type { Store } from '@leash/store';
import type { ModelPort } from './model/model.port';
import type { ModelToolCatalog } from './model/tool-schemas';
import type { InFlightCalls } from './task-state/in-flight-calls';

/**
 * What the planner needs from the kill switch: refuse work a kill covers,
 * and register in-flight model calls so a kill aborts them. The KillSwitch
 * of @leash/kill-switch is one; tests pass a stub.
 */
export interface KillGate {
  covering(target: KillTarget): KillV1 | undefined;
  track(target: KillTarget, controller: AbortController): () => void;
}

/** A gate with no kills: for code that runs without a control topic. */
export const NO_KILLS: KillGate = {
  covering: () => undefined,
  track: () => () => undefined,
};

/** Where the versioned system prompts are looked up: shipped as code, or brought by a release. */
export interface PromptSource {
  prompt(id: string, version: string): SystemPrompt | undefined | Promise<SystemPrompt | undefined>;
}

/** Which release of an agent a new task starts on (the catalog's routing: current, or a canary's share). */
export interface ReleaseRouter {
  releaseFor(agent: string, taskId: string): Promise<number | undefined>;
}

export interface AgentLoopOptions {
  /** The output each model call reserves and may use. */
  readonly maxOutputTokens: number;
  /** How long a model reservation may stay unsettled before the budget charges it in full. */
  readonly reservationTtlMs: number;
  /** Turns with a loop_detected denial before the task is escalated; the ones before force a re-plan. */
  readonly loopDenialsBeforeEscalation: number;
  /** Deliveries of one grant whose model call fails transiently before the task fails. */
  readonly modelAttempts: number;
  /** Deliveries of a task whose agent is not (yet) in the catalog before the task fails. */
  readonly unknownAgentAttempts: number;
}

export const DEFAULT_LOOP_OPTIONS: AgentLoopOptions = Object.freeze({
  maxOutputTokens: 1_024,
  reservationTtlMs: 15 * 60_000,
  loopDenialsBeforeEscalation: 2,
  modelAttempts: 3,
  unknownAgentAttempts: 3,
});

export interface AgentLoopLog {
  warn(message: string): void;
  error(message: string): void;
}

/** Everything the use cases share. All I/O is here, behind ports. */
export interface AgentLoopDeps {
  readonly store: Store;
  readonly model: ModelPort;
  /** The model name a profile's calls are reserved, made and priced under. */
  readonly modelName: (profile: AgentProfile) => string;
  readonly profiles: ProfileSource;
  readonly tools: ToolSource;
  readonly prompts: PromptSource;
  /** Absent: every task starts on the agent's current profile version. */
  readonly releases?: ReleaseRouter;
  readonly prices: PriceTable;
  readonly killGate: KillGate;
  /** Milliseconds since the epoch; injected so deadlines can be tested. */
  readonly clock: () => number;
  readonly options: AgentLoopOptions;
  readonly modelTools: ModelToolCatalog;
  readonly inFlight: InFlightCalls;
  /** The CloudEvents source and inbox consumer prefix. */
  readonly source: string;
  readonly log: AgentLoopLog;
  /** Each agent's typical task cost, for the cost guard. */
  readonly typicalCosts: TypicalCosts;
}

export function targetOf(task: {
  tenantId: string;
  taskId: string;
  agent: { name: string };
}): KillTarget {
  return { tenantId: task.tenantId, taskId: task.taskId, agent: task.agent.name };
}

/** A task id short enough to build other ids from (ids are bounded at 200 characters). */
function taskKey(taskId: string): string {
  return taskId.length <= 120 ? taskId : createHash('sha256').update(taskId).digest('hex');
}

/** The request (and reservation) id of a task's model call at `step`: one per step, so a re-issue is the same request. */
export function modelRequestId(taskId: string, step: number): string {
  return `model:${taskKey(taskId)}:${step}`;
}

/** The action id of the `index`-th call of a step: stable, so a repeated step proposes the same actions. */
export function actionIdFor(taskId: string, step: number, index: number): string {
  return `${taskKey(taskId)}:${step}:${index}`;
}
