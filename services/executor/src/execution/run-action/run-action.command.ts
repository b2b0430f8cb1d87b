import type { ExecutableEvent } from '../verify-action';

export interface RunActionCommand {
  /** A funded (route allow) or authorized action, as received. */
  readonly event: ExecutableEvent;
  /**
   * The delivery's signal: aborted when this process stops handling it. The
   * run then ends unrecorded and the redelivery resumes it.
   */
  readonly signal?: AbortSignal;
}
