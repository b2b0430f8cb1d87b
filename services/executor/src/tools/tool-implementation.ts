import type { ToolDefinition } from '@leash/agents';
import type { ToolBackends } from './tool-port';

/** What a tool implementation receives besides its arguments. */
export interface ToolContext {
  /** The idempotency key: a backend given the same key twice acts once and returns the first result. */
  readonly actionId: string;
  readonly tenantId: string;
  readonly taskId: string;
  /** Aborted on timeout or kill; pass it to every I/O call. */
  readonly signal: AbortSignal;
  readonly backends: ToolBackends;
}

/** The code behind a tool definition. Resolves with JSON-serialisable output. */
export type ToolImplementation = (
  args: Record<string, unknown>,
  ctx: ToolContext,
) => Promise<unknown>;

/** A tool with its code: the registry hands these to the executor. */
export interface RegisteredTool {
  readonly definition: ToolDefinition;
  readonly run: ToolImplementation;
}

/**
 * The request cannot succeed as asked (unknown customer, software not on the
 * approved list, an order already cancelled). Returned to the planner as a
 * failed action; never retried, since the same call fails the same way.
 */
export class ToolSemanticError extends Error {
  override readonly name = 'ToolSemanticError';
  constructor(
    message: string,
    /** A short machine-readable reason, e.g. `unknown_customer`. */
    readonly code: string = 'semantic',
  ) {
    super(message);
  }
}

export function isToolSemanticError(error: unknown): error is ToolSemanticError {
  return error instanceof ToolSemanticError;
}
