import { GateVerifier, type GatePublicKeys } from '@leash/signing';
import type { Store } from '@leash/store';
import { SimulatedBackends } from '../tools/backends/simulated-backends';
import { createToolRegistry, type ToolRegistry } from '../tools/tool-registry';
import { CompensateTaskUseCase } from './compensate-task/compensate-task.usecase';
import { systemClock, type Clock } from '@leash/clock';
import { type ExecutionDeps } from './execution.deps';
import { NO_KILLS, type KillGate } from './kill-gate';
import { RunActionUseCase } from './run-action/run-action.usecase';

export interface ExecutionOptions {
  readonly store: Store;
  /** The gates' public keys to verify with; or pass a ready `verifier`. */
  readonly publicKeys?: GatePublicKeys;
  readonly verifier?: GateVerifier;
  /** Default: nothing is killed. */
  readonly killGate?: KillGate;
  /** Default: the reference tools. */
  readonly registry?: ToolRegistry;
  readonly clock?: Clock;
  readonly outputLimitBytes?: number;
  /** How long each simulated backend write waits first (default 0). */
  readonly simulatedWriteLatencyMs?: number;
  readonly random?: () => number;
  readonly source?: string;
}

/** The executor's use cases, wired; what the Nest module and the tests both build. */
export interface Execution {
  readonly deps: ExecutionDeps;
  readonly runAction: RunActionUseCase;
  readonly compensateTask: CompensateTaskUseCase;
  readonly registry: ToolRegistry;
  readonly backends: SimulatedBackends;
}

export function createExecution(options: ExecutionOptions): Execution {
  const clock = options.clock ?? systemClock;
  const verifier =
    options.verifier ??
    (options.publicKeys
      ? new GateVerifier(options.publicKeys, { now: () => clock.now() })
      : undefined);
  if (!verifier) throw new Error("the executor needs the gates' public keys to verify with");
  const registry = options.registry ?? createToolRegistry();
  const backends = new SimulatedBackends(options.store, () => clock.now(), {
    writeLatencyMs: options.simulatedWriteLatencyMs ?? 0,
  });
  const deps: ExecutionDeps = {
    store: options.store,
    registry,
    backends,
    verifier,
    killGate: options.killGate ?? NO_KILLS,
    clock,
    ...(options.outputLimitBytes !== undefined
      ? { outputLimitBytes: options.outputLimitBytes }
      : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.source ? { source: options.source } : {}),
  };
  return {
    deps,
    runAction: new RunActionUseCase(deps),
    compensateTask: new CompensateTaskUseCase(deps),
    registry,
    backends,
  };
}
