export interface CompensateTaskCommand {
  readonly tenantId: string;
  readonly taskId: string;
  /** Why the task is rolled back, e.g. the kill's reason; recorded with each undo. */
  readonly reason: string;
  /** The kill or cancellation that asked for it; names the audit records. */
  readonly commandId: string;
}

export interface CompensateTaskResult {
  /** Action ids undone by this call, in the order they were undone (newest first). */
  readonly compensated: readonly string[];
  /** Undos that failed; a later call tries them again with the same idempotency key. */
  readonly failed: readonly { readonly actionId: string; readonly error: string }[];
}
