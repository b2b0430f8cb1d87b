import { Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { AgentCatalog } from '@leash/agents';
import { CONFIG, keyFrom } from '@leash/config';
import { STORE } from '@leash/engines';
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

/** Seeds the reference agents before the consumer starts, when the config asks for it. */
@Injectable()
export class ReferenceAgentsSeeder implements OnModuleInit {
  private readonly logger = new Logger('decisions');

  constructor(
    @Inject(POLICY_GATE) private readonly gate: PolicyGate,
    @Inject(CONFIG) private readonly config: PolicyDecisionsConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.LEASH_SEED_REFERENCE_AGENTS) return;
    const report = await this.gate.seedReferenceAgents();
    const added = [...report.profiles, ...report.policies, ...report.tools];
    if (added.length > 0) this.logger.log(`seeded the catalog: ${added.join(', ')}`);
  }
}

/**
 * The decision gate: consumes actions.proposed, publishes signed
 * actions.decided or actions.rejected through the outbox. Consumes
 * tasks.requested, actions.completed, actions.rejected and tasks.finished
 * for its own record of each task's untrusted content (taint). Needs STORE
 * (EnginesModule) and CONFIG with the POLICY_DECISIONS_VARIABLES.
 */
@Module({
  controllers: [ActionsProposedConsumer, TaskEventsConsumer],
  providers: [
    {
      provide: POLICY_GATE,
      useFactory: (
        store: Store,
        config: PolicyDecisionsConfig,
        killSwitch: KillSwitch | undefined,
      ): PolicyGate =>
        createPolicyGate({
          store,
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
    {
      provide: DecideActionUseCase,
      useFactory: (gate: PolicyGate) => gate.decideAction,
      inject: [POLICY_GATE],
    },
    {
      provide: RecordTaskInputUseCase,
      useFactory: (gate: PolicyGate) => gate.recordTaskInput,
      inject: [POLICY_GATE],
    },
    {
      provide: RecordActionOutcomeUseCase,
      useFactory: (gate: PolicyGate) => gate.recordActionOutcome,
      inject: [POLICY_GATE],
    },
    {
      provide: ForgetTaskUseCase,
      useFactory: (gate: PolicyGate) => gate.forgetTask,
      inject: [POLICY_GATE],
    },
    {
      provide: AgentCatalog,
      useFactory: (gate: PolicyGate) => gate.catalog,
      inject: [POLICY_GATE],
    },
    {
      provide: PolicyEvaluator,
      useFactory: (gate: PolicyGate) => gate.evaluator,
      inject: [POLICY_GATE],
    },
    ReferenceAgentsSeeder,
  ],
  exports: [POLICY_GATE, DecideActionUseCase, AgentCatalog, PolicyEvaluator],
})
export class DecisionsModule {}
