import type { KillV1 } from '@leash/contracts';

/** What a kill may cover: an action's tenant, agent and task. */
export interface KillTarget {
  readonly tenantId: string;
  /** The agent's name (a kill scope names an agent, not a version). */
  readonly agent: string;
  readonly taskId: string;
}

/**
 * The executor's view of the kill switch. Before a tool runs, `covering`
 * says whether a kill in force covers the action (it is then refused). While
 * it runs, `track` registers its AbortController so a kill can abort it; the
 * returned function unregisters it when the run ends. The kill switch
 * implements this; the executor only depends on the interface.
 */
export interface KillGate {
  covering(target: KillTarget): KillV1 | undefined;
  track(target: KillTarget, controller: AbortController): () => void;
}

/** Injection token of the KillGate the executor consults. */
export const KILL_GATE = Symbol('executor:kill-gate');

/** Until the kill switch plugs in: nothing is killed, nothing needs tracking. */
export const NO_KILLS: KillGate = Object.freeze({
  covering: () => undefined,
  track: () => () => undefined,
});
