import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  AgentCatalog,
  agentSetFromConfig,
  type AgentsConfig,
  ReleaseApplier,
  ReleaseAuthority,
  ReleaseCatalog,
  shippedPrompt,
  type AgentProfile,
  type ProfileSource,
} from '@leash/agents';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH } from '@leash/kill-switch';
import { CONTROL_EXTENSION } from '@leash/kill-switch/nest';
import type { Store } from '@leash/store';
import type { AgentLoopConfig } from './agent-loop.config';
import type { KillGate } from './agent-loop.deps';
import { createAgentLoop, type AgentLoop } from './agent-loop.factory';
import { BudgetDecisionsConsumer } from './call-model/budget-decisions.consumer';
import { CallModelUseCase } from './call-model/call-model.usecase';
import { EnforceDeadlinesUseCase } from './enforce-deadlines/enforce-deadlines.usecase';
import { KillTasksUseCase } from './kill-tasks/kill-tasks.usecase';
import { KillsConsumer } from './kill-tasks/kills.consumer';
import { modelFromConfig } from './model/model.factory';
import type { ModelPort } from './model/model.port';
import { ActionOutcomesConsumer } from './record-observation/action-outcomes.consumer';
import { RecordObservationUseCase } from './record-observation/record-observation.usecase';
import { ResumeOpenTasksUseCase } from './resume-tasks/resume-open-tasks.usecase';
import { ScenarioRegistry } from './scenarios/reference-scenarios';
import { StartTaskUseCase } from './start-task/start-task.usecase';
import { TasksRequestedConsumer } from './start-task/tasks-requested.consumer';

/** Injection token of the wired AgentLoop. */
export const AGENT_LOOP = Symbol('planner:agent-loop');

export interface AgentLoopModuleOptions {
  /** Replaces the adapter LEASH_MODEL names (tests); with it, `modelName` (default: the profile's model). */
  readonly model?: ModelPort;
  readonly modelName?: (profile: AgentProfile) => string;
  /** The scenarios the scripted model plays. Default: the reference scenarios. */
  readonly scenarios?: ScenarioRegistry;
  /** Where profiles come from. Default: the store-backed AgentCatalog. */
  readonly profiles?: (store: Store) => ProfileSource;
  readonly clock?: () => number;
  /**
   * Builds the model the loop calls around the configured one: counterfactual
   * replay answers from a recording and falls back on the configured model.
   */
  readonly wrapModel?: (model: ModelPort) => ModelPort;
}

/** Resumes open tasks and runs the deadline sweeper with the app. */
@Injectable()
class AgentLoopHost
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('planner:agent-loop');

  constructor(@Inject(AGENT_LOOP) private readonly loop: AgentLoop) {}

  async onApplicationBootstrap(): Promise<void> {
    const resumed = await this.loop.resumeOpenTasks.execute();
    if (resumed.length > 0) this.logger.log(`resumed ${resumed.length} open task(s)`);
    this.loop.sweeper.start();
    this.loop.canaryWatch?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.sweeper.stop();
    await this.loop.canaryWatch?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.loop.deps.model.close?.();
  }
}

const USE_CASES = [
  { token: StartTaskUseCase, pick: (loop: AgentLoop) => loop.startTask },
  { token: CallModelUseCase, pick: (loop: AgentLoop) => loop.callModel },
  { token: RecordObservationUseCase, pick: (loop: AgentLoop) => loop.recordObservation },
  { token: EnforceDeadlinesUseCase, pick: (loop: AgentLoop) => loop.enforceDeadlines },
  { token: KillTasksUseCase, pick: (loop: AgentLoop) => loop.killTasks },
  { token: ResumeOpenTasksUseCase, pick: (loop: AgentLoop) => loop.resumeOpenTasks },
] as const;

/**
 * The agent loop on the bus: consumers of tasks.requested, budget.decisions,
 * actions.completed/rejected and control kills, the use cases behind them,
 * the deadline sweeper and the resume on start. Needs STORE, CONFIG (with
 * AGENT_LOOP_VARIABLES) and, from the control module, KILL_SWITCH.
 */
@Module({})
export class AgentLoopModule {
  static forRoot(options: AgentLoopModuleOptions = {}): DynamicModule {
    const logger = new Logger('planner:agent-loop');
    return {
      module: AgentLoopModule,
      // Global for CONTROL_EXTENSION: the control module's subscription hands releases to it.
      global: true,
      controllers: [
        TasksRequestedConsumer,
        BudgetDecisionsConsumer,
        ActionOutcomesConsumer,
        KillsConsumer,
      ],
      providers: [
        {
          provide: AGENT_LOOP,
          inject: [STORE, CONFIG, { token: KILL_SWITCH, optional: true }],
          useFactory: (
            store: Store,
            config: AgentLoopConfig & Partial<AgentsConfig>,
            killGate?: KillGate,
          ): AgentLoop => {
            const agents = agentSetFromConfig({
              LEASH_SEED_REFERENCE_AGENTS: config.LEASH_SEED_REFERENCE_AGENTS ?? true,
              LEASH_AGENT_DIRS: config.LEASH_AGENT_DIRS ?? [],
            });
            // The scripted model plays the golden tasks of every agent folder too (their golden/).
            const scenarios =
              options.scenarios ??
              new ScenarioRegistry().registerMissing(agents.agents.flatMap((a) => a.goldenTasks));
            const configured = options.model ? undefined : modelFromConfig(config, scenarios);
            if (configured) logger.log(configured.description);
            const releases = new ReleaseCatalog(store, { shippedPrompt: agents.prompt });
            return createAgentLoop({
              store,
              model: (options.wrapModel ?? ((model: ModelPort) => model))(
                options.model ?? configured!.model,
              ),
              ...(configured
                ? { modelName: configured.modelName }
                : options.modelName
                  ? { modelName: options.modelName }
                  : {}),
              profiles: options.profiles?.(store) ?? new AgentCatalog(store),
              tools: agents.tools,
              releases,
              canaryWatchIntervalMs: config.LEASH_PLANNER_SWEEP_INTERVAL_MS,
              // A release's own prompt version first: it is what the release was made with.
              prompts: {
                prompt: async (id, version) =>
                  (await releases.prompt(id, version)) ?? agents.prompt(id, version),
              },
              prices: config.LEASH_MODEL_PRICES,
              ...(killGate ? { killGate } : {}),
              ...(options.clock ? { clock: options.clock } : {}),
              options: { maxOutputTokens: config.LEASH_MODEL_MAX_OUTPUT_TOKENS },
              sweepIntervalMs: config.LEASH_PLANNER_SWEEP_INTERVAL_MS,
            });
          },
        },
        ...USE_CASES.map(({ token, pick }) => ({
          provide: token,
          inject: [AGENT_LOOP],
          useFactory: pick,
        })),
        AgentLoopHost,
        {
          // Releases from the control topic into the catalog; a rollback that says so moves running tasks.
          provide: CONTROL_EXTENSION,
          inject: [AGENT_LOOP, CONFIG],
          useFactory: (loop: AgentLoop, config: Partial<AgentsConfig>) =>
            new ReleaseApplier(
              new ReleaseCatalog(loop.deps.store, { shippedPrompt }),
              new Logger('planner:releases'),
              ReleaseAuthority.fromConfig(config),
              async (routed) => {
                const moved = await loop.moveRunningTasks.execute(routed);
                if (moved.length > 0) {
                  logger.log(
                    `moved ${moved.length} running task(s) of ${routed.agent} to @${routed.current}`,
                  );
                }
              },
            ),
        },
      ],
      exports: [AGENT_LOOP, CONTROL_EXTENSION, ...USE_CASES.map(({ token }) => token)],
    };
  }
}
