/** Why the planner itself aborted a model call (a kill aborts with the kill switch's KilledError). */
export class TaskEndedError extends Error {
  override readonly name = 'TaskEndedError';
}

interface InFlightCall {
  readonly requestId: string;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * The model calls this process is making, by task. A second delivery of the
 * same grant (a redelivery, a resumed task) joins the call in flight instead
 * of paying for another; a deadline or a kill aborts it.
 */
export class InFlightCalls {
  private readonly calls = new Map<string, InFlightCall>();

  /** Runs `call` unless one for the same request is in flight, in which case it waits for that one. */
  async run(
    taskId: string,
    requestId: string,
    call: (controller: AbortController) => Promise<void>,
  ): Promise<void> {
    const existing = this.calls.get(taskId);
    if (existing?.requestId === requestId) return existing.done;
    const controller = new AbortController();
    const done = call(controller).finally(() => {
      if (this.calls.get(taskId)?.done === done) this.calls.delete(taskId);
    });
    this.calls.set(taskId, { requestId, controller, done });
    return done;
  }

  /** Aborts the task's call in flight, if any. */
  abort(taskId: string, reason: Error): boolean {
    const call = this.calls.get(taskId);
    if (!call || call.controller.signal.aborted) return false;
    call.controller.abort(reason);
    return true;
  }

  get size(): number {
    return this.calls.size;
  }
}
