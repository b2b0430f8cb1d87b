import type { Clock } from '@leash/clock';
import type { GateVerifier } from '@leash/signing';
import type { Store } from '@leash/store';
import type { ToolBackends } from '../tools/tool-port';
import type { ToolRegistry } from '../tools/tool-registry';
import type { KillGate } from './kill-gate';

/** The CloudEvents source of what the executor publishes. */
export const EXECUTOR_SOURCE = 'executor';

/** Inbox consumer name: one claim per handled event. */
export const EXECUTOR_CONSUMER = 'executor';

/** Everything the executor's use cases act through; all I/O is behind these. */
export interface ExecutionDeps {
  readonly store: Store;
  readonly registry: ToolRegistry;
  /** What the tools act on; the simulated backends are one implementation. */
  readonly backends: ToolBackends;
  /** Verifies what the policy, budget and approvals gates signed, with their public keys only. */
  readonly verifier: GateVerifier;
  readonly killGate: KillGate;
  readonly clock?: Clock;
  readonly source?: string;
  /** Cap on serialised tool output; default 16 KiB. */
  readonly outputLimitBytes?: number;
  /** Jitter of retry backoff; injectable so tests can pin it. */
  readonly random?: () => number;
}
