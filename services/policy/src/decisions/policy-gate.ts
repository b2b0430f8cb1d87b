import {
  AgentCatalog,
  REFERENCE_AGENTS,
  REFERENCE_TOOLS,
  type SeedReport,
  type ToolSource,
} from '@leash/agents';
import type { KillSwitch } from '@leash/kill-switch';
import { GateSigner, type GateSigningKey } from '@leash/signing';
import type { Store } from '@leash/store';
import { DecideActionUseCase } from './decide-action/decide-action.usecase';
import { PolicyEvaluator } from './evaluation/policy-evaluator';
import { ForgetTaskUseCase } from './forget-task/forget-task.usecase';
import { RecordActionOutcomeUseCase } from './record-action-outcome/record-action-outcome.usecase';
import { RecordTaskInputUseCase } from './record-task-input/record-task-input.usecase';

export interface PolicyGateOptions {
  readonly store: Store;
  /** The policy gate's private key: it signs decisions and nothing else. */
  readonly signingKey: GateSigningKey;
  /** Default 15 minutes. */
  readonly decisionTtlMs?: number;
  /** Default: the reference tools. */
  readonly tools?: ToolSource;
  readonly clock?: () => number;
  /** Share one across gates in a process to share compiled policies. */
  readonly evaluator?: PolicyEvaluator;
  /** The service's kill switch; without one nothing is ever refused as killed. */
  readonly killSwitch?: Pick<KillSwitch, 'covering'>;
}

/** Everything the policy gate is made of, wired without Nest: for tests, benchmarks and the module. */
export interface PolicyGate {
  readonly catalog: AgentCatalog;
  readonly evaluator: PolicyEvaluator;
  readonly signer: GateSigner;
  readonly tools: ToolSource;
  readonly decideAction: DecideActionUseCase;
  /** tasks.requested: the task input into the taint record. */
  readonly recordTaskInput: RecordTaskInputUseCase;
  /** actions.completed and actions.rejected: tool output into the taint record, and the end of a wait. */
  readonly recordActionOutcome: RecordActionOutcomeUseCase;
  /** tasks.finished: the taint record dropped. */
  readonly forgetTask: ForgetTaskUseCase;
  /** Puts the reference agents in the catalog, leaving existing versions alone. */
  seedReferenceAgents(): Promise<SeedReport>;
}

export const DEFAULT_DECISION_TTL_MS = 15 * 60_000;

export function createPolicyGate(options: PolicyGateOptions): PolicyGate {
  const evaluator = options.evaluator ?? new PolicyEvaluator();
  const clock = options.clock ?? Date.now;
  const tools = options.tools ?? REFERENCE_TOOLS;
  const catalog = new AgentCatalog(options.store, {
    checkPolicy: (cedar) => evaluator.check(cedar),
    now: () => new Date(clock()),
  });
  const signer = new GateSigner('policy', options.signingKey);
  const decideAction = new DecideActionUseCase({
    store: options.store,
    profiles: catalog,
    policies: catalog,
    tools,
    evaluator,
    signer,
    decisionTtlMs: options.decisionTtlMs ?? DEFAULT_DECISION_TTL_MS,
    clock,
    ...(options.killSwitch ? { killSwitch: options.killSwitch } : {}),
  });
  return {
    catalog,
    evaluator,
    signer,
    tools,
    decideAction,
    recordTaskInput: new RecordTaskInputUseCase({ store: options.store, decideAction, clock }),
    recordActionOutcome: new RecordActionOutcomeUseCase({
      store: options.store,
      decideAction,
      clock,
    }),
    forgetTask: new ForgetTaskUseCase({ store: options.store }),
    seedReferenceAgents: () => catalog.seed(Object.values(REFERENCE_AGENTS)),
  };
}
