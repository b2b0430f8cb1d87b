import { TypicalCosts } from './cost-guard/cost-guard';
import { Logger } from '@nestjs/common';
import {
  REFERENCE_TOOLS,
  type AgentProfile,
  type ProfileSource,
  type ReleaseCatalog,
  type ToolSource,
} from '@leash/agents';
import { IntervalSweeper } from '@leash/clock';
import type { Bus, Delivery, SubscribeOptions, Subscription } from '@leash/bus';
import type { TopicName } from '@leash/contracts';
import type { PriceTable } from '@leash/config';
import type { Store } from '@leash/store';
import {
  DEFAULT_LOOP_OPTIONS,
  NO_KILLS,
  type AgentLoopDeps,
  type AgentLoopLog,
  type AgentLoopOptions,
  type KillGate,
  type PromptSource,
} from './agent-loop.deps';
import { CallModelUseCase } from './call-model/call-model.usecase';
import { DeadlineSweeper } from './enforce-deadlines/deadline-sweeper';
import { EnforceDeadlinesUseCase } from './enforce-deadlines/enforce-deadlines.usecase';
import { KillTasksUseCase } from './kill-tasks/kill-tasks.usecase';
import type { ModelPort } from './model/model.port';
import { ModelToolCatalog } from './model/tool-schemas';
import { RecordObservationUseCase } from './record-observation/record-observation.usecase';
import { ResumeOpenTasksUseCase } from './resume-tasks/resume-open-tasks.usecase';
import { REFERENCE_PROMPTS, promptSourceOf } from './scenarios/reference-scenarios';
import { StartTaskUseCase } from './start-task/start-task.usecase';
import { InFlightCalls } from './task-state/in-flight-calls';
import { MoveRunningTasksUseCase } from './watch-canary/move-running-tasks.usecase';
import { WatchCanaryUseCase, type CanaryReport } from './watch-canary/watch-canary.usecase';

export interface AgentLoopFactoryOptions {
  readonly store: Store;
  readonly model: ModelPort;
  readonly profiles: ProfileSource;
  readonly prices: PriceTable;
  /** Default: every profile's calls under its own model name. */
  readonly modelName?: (profile: AgentProfile) => string;
  /** Default: the reference tools. */
  readonly tools?: ToolSource;
  /** Default: the reference agents' prompts. */
  readonly prompts?: PromptSource;
  /** Routes new tasks to releases and watches canaries. Default: every task on its agent's current version. */
  readonly releases?: ReleaseCatalog;
  /** How often running canaries are compared with their baselines. Default 1 s. */
  readonly canaryWatchIntervalMs?: number;
  /** Default: no kills (pass the service's KillSwitch). */
  readonly killGate?: KillGate;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly clock?: () => number;
  readonly options?: Partial<AgentLoopOptions>;
  /** How often the deadline sweeper runs. Default 1 s. */
  readonly sweepIntervalMs?: number;
  readonly source?: string;
  readonly log?: AgentLoopLog;
}

/** The agent loop, wired without Nest: for tests, the e2e bench and the Nest module. */
export interface AgentLoop {
  readonly deps: AgentLoopDeps;
  readonly startTask: StartTaskUseCase;
  readonly callModel: CallModelUseCase;
  readonly recordObservation: RecordObservationUseCase;
  readonly enforceDeadlines: EnforceDeadlinesUseCase;
  readonly killTasks: KillTasksUseCase;
  readonly resumeOpenTasks: ResumeOpenTasksUseCase;
  readonly sweeper: DeadlineSweeper;
  readonly moveRunningTasks: MoveRunningTasksUseCase;
  /** Present with `releases`: compares running canaries with their baselines on an interval. */
  readonly canaryWatch?: IntervalSweeper<CanaryReport[]>;
  /** Routes one delivery to its use case, as the Nest consumers do. */
  handle(delivery: Delivery): Promise<void>;
}

/** The topics the planner consumes. */
export const AGENT_LOOP_TOPICS: readonly TopicName[] = [
  'tasks.requested',
  'actions.completed',
  'actions.rejected',
  'budget.decisions',
  'control',
];

export function createAgentLoop(options: AgentLoopFactoryOptions): AgentLoop {
  const logger = new Logger('planner:agent-loop');
  const deps: AgentLoopDeps = {
    store: options.store,
    model: options.model,
    modelName: options.modelName ?? ((profile) => profile.model),
    profiles: options.profiles,
    tools: options.tools ?? REFERENCE_TOOLS,
    prompts: options.prompts ?? promptSourceOf(REFERENCE_PROMPTS),
    ...(options.releases ? { releases: options.releases } : {}),
    prices: options.prices,
    killGate: options.killGate ?? NO_KILLS,
    clock: options.clock ?? Date.now,
    options: { ...DEFAULT_LOOP_OPTIONS, ...options.options },
    modelTools: new ModelToolCatalog(),
    inFlight: new InFlightCalls(),
    source: options.source ?? 'planner',
    log: options.log ?? { warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
    typicalCosts: new TypicalCosts(options.store, options.clock ?? Date.now),
  };
  const startTask = new StartTaskUseCase(deps);
  const callModel = new CallModelUseCase(deps);
  const recordObservation = new RecordObservationUseCase(deps);
  const enforceDeadlines = new EnforceDeadlinesUseCase(deps);
  const killTasks = new KillTasksUseCase(deps);
  const resumeOpenTasks = new ResumeOpenTasksUseCase(deps);
  const sweeper = new DeadlineSweeper(enforceDeadlines, {
    intervalMs: options.sweepIntervalMs ?? 1_000,
    onError: (error) => deps.log.error(`deadline sweep failed: ${String(error)}`),
  });
  const moveRunningTasks = new MoveRunningTasksUseCase(deps);
  const releases = options.releases;
  const watch =
    releases &&
    new WatchCanaryUseCase({
      store: deps.store,
      releases,
      source: deps.source,
      clock: deps.clock,
      log: deps.log,
    });
  const canaryWatch = watch
    ? new IntervalSweeper(() => watch.execute(), {
        intervalMs: options.canaryWatchIntervalMs ?? 1_000,
        onError: (error) => deps.log.error(`canary watch failed: ${String(error)}`),
      })
    : undefined;

  async function handle(delivery: Delivery): Promise<void> {
    const event = delivery.event;
    switch (event.type) {
      case 'leash.tasks.requested.v1':
        await startTask.execute({ event, attempt: delivery.attempt });
        return;
      case 'leash.budget.decided.v1':
        await callModel.execute({ event, attempt: delivery.attempt, signal: delivery.signal });
        return;
      case 'leash.actions.completed.v1':
      case 'leash.actions.rejected.v1':
        await recordObservation.execute({ event });
        return;
      case 'leash.control.kill.v1':
        await killTasks.execute(event.data);
        return;
      default:
        return;
    }
  }

  return {
    deps,
    startTask,
    callModel,
    recordObservation,
    enforceDeadlines,
    killTasks,
    resumeOpenTasks,
    sweeper,
    moveRunningTasks,
    ...(canaryWatch ? { canaryWatch } : {}),
    handle,
  };
}

/** Subscribes the loop under the planner's consumer group (or `group`), without Nest. */
export function subscribeAgentLoop(
  bus: Bus,
  loop: AgentLoop,
  options: SubscribeOptions & { readonly group?: string } = {},
): Promise<Subscription> {
  const { group = 'planner', ...subscribe } = options;
  return bus.subscribe(group, AGENT_LOOP_TOPICS, (delivery) => loop.handle(delivery), subscribe);
}
