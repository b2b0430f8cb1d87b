import { agentSetFromConfig } from '@leash/agents';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { keyFrom } from '@leash/config';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import type { Store } from '@leash/store';
import { SimulatedBackends } from '../tools/backends/simulated-backends';
import { ToolRegistry } from '../tools/tool-registry';
import { ActionsAuthorizedConsumer } from './actions-authorized.consumer';
import { ActionsFundedConsumer } from './actions-funded.consumer';
import { CompensateTaskUseCase } from './compensate-task/compensate-task.usecase';
import type { ExecutionConfig } from './execution.config';
import type { Clock } from '@leash/clock';
import { createExecution, type Execution } from './execution.factory';
import { registryForAgents } from '../tools/tool-modules';
import { KILL_GATE, NO_KILLS, type KillGate } from './kill-gate';
import { RunActionUseCase } from './run-action/run-action.usecase';

/** Injection token of the wired Execution (use cases, registry, backends). */
export const EXECUTION = Symbol('executor:execution');

/** How the module gets its KillGate; the kill switch supplies one. Default: NO_KILLS. */
export type KillGateProvider =
  | { readonly useValue: KillGate }
  | { readonly useExisting: InjectionToken }
  | {
      readonly useFactory: (...args: never[]) => KillGate | Promise<KillGate>;
      readonly inject?: InjectionToken[];
    };

export interface ExecutionModuleOptions {
  /** Modules that provide what `killGate` injects. */
  readonly imports?: ModuleMetadata['imports'];
  readonly killGate?: KillGateProvider;
  /** Default: the reference tools. */
  readonly registry?: () => ToolRegistry;
  /** Changes the registry before the executor uses it: counterfactual replay answers tools from a recording. */
  readonly wrapRegistry?: (registry: ToolRegistry) => ToolRegistry;
  readonly clock?: Clock;
}

/** Seeds the simulated backends before the consumers start, unless the config says not to. */
@Injectable()
class BackendSeeder implements OnModuleInit {
  private readonly logger = new Logger('execution');

  constructor(
    @Inject(EXECUTION) private readonly execution: Execution,
    @Inject(CONFIG) private readonly config: ExecutionConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.LEASH_SEED_SIMULATED_BACKENDS === false) return;
    await this.execution.backends.seed();
    this.logger.log(`simulated backends ready; tools: ${this.execution.registry.names.join(', ')}`);
  }
}

/** Closes what the tools hold open (MCP servers' connections) when the executor stops. */
@Injectable()
class ToolCloser implements OnApplicationShutdown {
  constructor(@Inject(EXECUTION) private readonly execution: Execution) {}

  async onApplicationShutdown(): Promise<void> {
    await this.execution.registry.close();
  }
}

const CONSUMERS = [ActionsFundedConsumer, ActionsAuthorizedConsumer];

/**
 * The tool executor: consumes actions.funded (route allow) and
 * actions.authorized, runs the tool once per action id, and publishes
 * actions.completed / actions.rejected / usage.recorded through the store's
 * outbox. Needs STORE (EnginesModule) and CONFIG with EXECUTION_VARIABLES.
 * Exports RunActionUseCase, CompensateTaskUseCase (for the kill switch's
 * rollback), the ToolRegistry, the SimulatedBackends and KILL_GATE.
 */
@Module({})
export class ExecutionModule {
  static forRoot(options: ExecutionModuleOptions = {}): DynamicModule {
    const killGate: Provider = {
      provide: KILL_GATE,
      ...(options.killGate ?? { useValue: NO_KILLS }),
    } as Provider;
    return {
      module: ExecutionModule,
      imports: [...(options.imports ?? [])],
      controllers: CONSUMERS,
      providers: [
        killGate,
        {
          provide: EXECUTION,
          inject: [STORE, CONFIG, KILL_GATE],
          useFactory: (store: Store, config: ExecutionConfig, gate: KillGate): Execution => {
            return createExecution({
              store,
              publicKeys: {
                policy: keyFrom(
                  config.LEASH_POLICY_PUBLIC_KEYS,
                  config.LEASH_POLICY_PUBLIC_KEYS_FILE,
                  'LEASH_POLICY_PUBLIC_KEYS',
                ),
                budget: keyFrom(
                  config.LEASH_BUDGET_PUBLIC_KEYS,
                  config.LEASH_BUDGET_PUBLIC_KEYS_FILE,
                  'LEASH_BUDGET_PUBLIC_KEYS',
                ),
                approvals: keyFrom(
                  config.LEASH_APPROVALS_PUBLIC_KEYS,
                  config.LEASH_APPROVALS_PUBLIC_KEYS_FILE,
                  'LEASH_APPROVALS_PUBLIC_KEYS',
                ),
              },
              killGate: gate,
              registry: (options.wrapRegistry ?? ((registry: ToolRegistry) => registry))(
                options.registry
                  ? options.registry()
                  : registryForAgents(
                      agentSetFromConfig({
                        LEASH_SEED_REFERENCE_AGENTS: config.LEASH_SEED_REFERENCE_AGENTS ?? true,
                        LEASH_AGENT_DIRS: config.LEASH_AGENT_DIRS ?? [],
                      }),
                      config.LEASH_TOOL_MODULES ?? [],
                    ),
              ),
              ...(options.clock ? { clock: options.clock } : {}),
              ...(config.LEASH_TOOL_OUTPUT_MAX_BYTES !== undefined
                ? { outputLimitBytes: config.LEASH_TOOL_OUTPUT_MAX_BYTES }
                : {}),
              ...(config.LEASH_SIMULATED_WRITE_LATENCY_MS
                ? { simulatedWriteLatencyMs: config.LEASH_SIMULATED_WRITE_LATENCY_MS }
                : {}),
            });
          },
        },
        {
          provide: RunActionUseCase,
          inject: [EXECUTION],
          useFactory: (e: Execution) => e.runAction,
        },
        {
          provide: CompensateTaskUseCase,
          inject: [EXECUTION],
          useFactory: (e: Execution) => e.compensateTask,
        },
        { provide: ToolRegistry, inject: [EXECUTION], useFactory: (e: Execution) => e.registry },
        {
          provide: SimulatedBackends,
          inject: [EXECUTION],
          useFactory: (e: Execution) => e.backends,
        },
        BackendSeeder,
        ToolCloser,
      ],
      exports: [
        EXECUTION,
        KILL_GATE,
        RunActionUseCase,
        CompensateTaskUseCase,
        ToolRegistry,
        SimulatedBackends,
      ],
    };
  }

  /**
   * The same consumers over a run-action use case the caller built (specs,
   * fixtures): run it with listenOnBus. Nothing is seeded.
   */
  static forRunAction(runAction: RunActionUseCase): DynamicModule {
    return {
      module: ExecutionModule,
      controllers: CONSUMERS,
      providers: [{ provide: RunActionUseCase, useValue: runAction }],
    };
  }
}
