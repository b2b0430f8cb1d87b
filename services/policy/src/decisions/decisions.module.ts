import { agentSetFromConfig, type AgentsConfig } from '@leash/agents';
import { Module, type DynamicModule } from '@nestjs/common';
import { AgentCatalog } from '@leash/agents';
import { keyFrom } from '@leash/config';
import { CONFIG } from '@leash/config/nest';
import { STORE } from '@leash/service-runtime';
import { KILL_SWITCH, type KillSwitch } from '@leash/kill-switch';
import type { Store } from '@leash/store';
import { ActionsProposedConsumer } from './actions-proposed.consumer';
import { DecideActionUseCase } from './decide-action/decide-action.usecase';
import { PolicyEvaluator } from './evaluation/policy-evaluator';
import { ForgetTaskUseCase } from './forget-task/forget-task.usecase';
import { RecordActionOutcomeUseCase } from './record-action-outcome/record-action-outcome.usecase';
import { RecordTaskInputUseCase } from './record-task-input/record-task-input.usecase';
import { TaskEventsConsumer } from './task-events.consumer';
import { createPolicyGate, type PolicyGate } from './policy-gate';
import type { PolicyDecisionsConfig } from './policy.config';

/** Injection token of the wired PolicyGate. */
export const POLICY_GATE = Symbol('leash:policy-gate');

/** The use cases (and reads) the consumers and the rest of the service take from the gate. */
const GATE_PARTS = [
  { provide: DecideActionUseCase, useFactory: (gate: PolicyGate) => gate.decideAction },
  { provide: RecordTaskInputUseCase, useFactory: (gate: PolicyGate) => gate.recordTaskInput },
  {
    provide: RecordActionOutcomeUseCase,
    useFactory: (gate: PolicyGate) => gate.recordActionOutcome,
  },
  { provide: ForgetTaskUseCase, useFactory: (gate: PolicyGate) => gate.forgetTask },
  { provide: AgentCatalog, useFactory: (gate: PolicyGate) => gate.catalog },
  { provide: PolicyEvaluator, useFactory: (gate: PolicyGate) => gate.evaluator },
].map((part) => ({ ...part, inject: [POLICY_GATE] }));

const CONSUMERS = [ActionsProposedConsumer, TaskEventsConsumer];
const EXPORTS = [POLICY_GATE, DecideActionUseCase, AgentCatalog, PolicyEvaluator];

/**
 * The decision gate: consumes actions.proposed, publishes signed
 * actions.decided or actions.rejected through the outbox. Consumes
 * tasks.requested, actions.completed, actions.rejected and tasks.finished
 * for its own record of each task's untrusted content (taint).
 */
@Module({})
export class DecisionsModule {
  /** The service's: the gate built from STORE (EnginesModule) and CONFIG with the POLICY_DECISIONS_VARIABLES. */
  static forRoot(): DynamicModule {
    return {
      module: DecisionsModule,
      controllers: CONSUMERS,
      providers: [
        {
          provide: POLICY_GATE,
          useFactory: (
            store: Store,
            config: PolicyDecisionsConfig & Partial<AgentsConfig>,
            killSwitch: KillSwitch | undefined,
          ): PolicyGate =>
            createPolicyGate({
              store,
              // The tools of the agents this deployment runs: arguments are checked against these.
              tools: agentSetFromConfig({
                LEASH_SEED_REFERENCE_AGENTS: config.LEASH_SEED_REFERENCE_AGENTS ?? true,
                LEASH_AGENT_DIRS: config.LEASH_AGENT_DIRS ?? [],
              }).tools,
              signingKey: keyFrom(
                config.LEASH_POLICY_SIGNING_KEY,
                config.LEASH_POLICY_SIGNING_KEY_FILE,
                'LEASH_POLICY_SIGNING_KEY',
              ),
              decisionTtlMs: config.LEASH_DECISION_TTL_MS,
              ...(killSwitch ? { killSwitch } : {}),
            }),
          // The service's ControlModule provides it (global); the module alone, as specs run it, has none.
          inject: [STORE, CONFIG, { token: KILL_SWITCH, optional: true }],
        },
        ...GATE_PARTS,
      ],
      exports: EXPORTS,
    };
  }

  /**
   * The same consumers over a gate the caller built (specs, the benchmark):
   * run it with listenOnBus. Nothing is seeded.
   */
  static forGate(gate: PolicyGate): DynamicModule {
    return {
      module: DecisionsModule,
      controllers: CONSUMERS,
      providers: [{ provide: POLICY_GATE, useValue: gate }, ...GATE_PARTS],
      exports: EXPORTS,
    };
  }
}
