import { SpanStatusCode } from '@opentelemetry/api';
import { backoffDelayMs, isTransient, type RetryPolicy } from '@leash/bus';
import { executeToolSpan, leashMetrics } from '@leash/telemetry';
import {
  isToolSemanticError,
  type RegisteredTool,
  type ToolContext,
} from '../tools/tool-implementation';
import { capMessage } from './tool-output';

export type ToolErrorKind = 'semantic' | 'transient' | 'timeout' | 'aborted';

export type ToolOutcome =
  | {
      readonly status: 'succeeded';
      readonly output: unknown;
      readonly attempts: number;
      readonly durationMs: number;
    }
  | {
      readonly status: 'failed';
      readonly error: { readonly kind: ToolErrorKind; readonly message: string };
      readonly attempts: number;
      readonly durationMs: number;
    };

/** The signal of the run's delivery was aborted (the consumer is stopping or lost the partition). */
export class RunInterruptedError extends Error {
  override readonly name = 'RunInterruptedError';
}

/** Why an attempt's signal fired on its deadline. */
export class ToolTimeoutError extends Error {
  override readonly name = 'ToolTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`the tool did not finish within ${timeoutMs} ms`);
  }
}

export interface RunToolOptions {
  /** Aborted by a kill: the attempt's signal aborts and the run ends `aborted`, without retry. */
  readonly abort: AbortSignal;
  /**
   * Aborted when this process stops handling the delivery. The run then ends
   * without a result (RunInterruptedError): nothing is recorded, and the
   * redelivery calls the tool again with the same idempotency key.
   */
  readonly interrupt?: AbortSignal;
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Calls a tool under its definition's timeout and retry policy. Each attempt
 * gets its own AbortSignal, aborted on the timeout, a kill or an interrupt;
 * the runner stops waiting at that moment even if the tool ignores its
 * signal. Transient errors are retried with exponential backoff and full
 * jitter; semantic errors, timeouts, aborts and anything unexpected are not.
 */
export function runTool(
  tool: RegisteredTool,
  args: Record<string, unknown>,
  context: Omit<ToolContext, 'signal'>,
  options: RunToolOptions,
): Promise<ToolOutcome> {
  // One `execute_tool` span per run (GenAI conventions); attempts are its events.
  return executeToolSpan(
    {
      tool: tool.definition.name,
      callId: context.actionId,
      description: tool.definition.description,
      task: { taskId: context.taskId, tenantId: context.tenantId },
      service: 'executor',
    },
    async (span) => {
      const metrics = leashMetrics();
      const name = tool.definition.name;
      metrics.toolCallsInFlight.inc({ tool: name });
      let outcome: ToolOutcome;
      try {
        outcome = await runAttempts(tool, args, context, options);
      } finally {
        metrics.toolCallsInFlight.dec({ tool: name });
      }
      metrics.toolCallDuration.observe(
        { tool: name, status: outcome.status === 'succeeded' ? 'succeeded' : outcome.error.kind },
        outcome.durationMs / 1000,
      );
      span.setAttribute('leash.tool.status', outcome.status);
      span.setAttribute('leash.tool.attempts', outcome.attempts);
      if (outcome.status === 'failed') {
        span.setAttribute('error.type', outcome.error.kind);
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
      }
      return outcome;
    },
  );
}

async function runAttempts(
  tool: RegisteredTool,
  args: Record<string, unknown>,
  context: Omit<ToolContext, 'signal'>,
  options: RunToolOptions,
): Promise<ToolOutcome> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const { timeoutMs, retry } = tool.definition;
  const policy: RetryPolicy = {
    maxAttempts: Math.max(1, retry.maxAttempts),
    initialDelayMs: retry.initialDelayMs,
    maxDelayMs: retry.maxDelayMs,
    multiplier: 2,
  };
  const started = now();
  const failed = (kind: ToolErrorKind, message: string, attempts: number): ToolOutcome => ({
    status: 'failed',
    error: { kind, message: capMessage(message) },
    attempts,
    durationMs: now() - started,
  });

  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    let settled: { ok: true; output: unknown } | { ok: false; error: unknown };
    try {
      const output = await attemptOnce(tool, args, context, controller, timeoutMs, options);
      settled = { ok: true, output };
    } catch (error) {
      settled = { ok: false, error };
    }
    if (options.interrupt?.aborted) throw new RunInterruptedError('the delivery was interrupted');
    if (settled.ok) {
      return {
        status: 'succeeded',
        output: settled.output,
        attempts: attempt,
        durationMs: now() - started,
      };
    }
    const reason = controller.signal.aborted ? controller.signal.reason : undefined;
    if (reason instanceof ToolTimeoutError) return failed('timeout', reason.message, attempt);
    if (options.abort.aborted) return failed('aborted', abortMessage(options.abort), attempt);
    const error = settled.error;
    if (isToolSemanticError(error)) return failed('semantic', error.message, attempt);
    if (!isTransient(error)) {
      // A bug or an unclassified failure: not retried (it may not be safe to), reported to the planner.
      return failed('semantic', `the tool failed unexpectedly: ${messageOf(error)}`, attempt);
    }
    if (attempt >= policy.maxAttempts) {
      return failed('transient', `gave up after ${attempt} attempts: ${messageOf(error)}`, attempt);
    }
    const waited = await pause(backoffDelayMs(policy, attempt, random), options);
    if (options.interrupt?.aborted) throw new RunInterruptedError('the delivery was interrupted');
    if (!waited) return failed('aborted', abortMessage(options.abort), attempt);
  }
}

function attemptOnce(
  tool: RegisteredTool,
  args: Record<string, unknown>,
  context: Omit<ToolContext, 'signal'>,
  controller: AbortController,
  timeoutMs: number,
  options: RunToolOptions,
): Promise<unknown> {
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new ToolTimeoutError(timeoutMs)), timeoutMs);
  const forward = (source: AbortSignal) => () => controller.abort(source.reason);
  const sources = [options.abort, options.interrupt].filter((s): s is AbortSignal => !!s);
  const listeners = sources.map((source) => {
    const listener = forward(source);
    if (source.aborted) listener();
    else source.addEventListener('abort', listener, { once: true });
    return { source, listener };
  });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  let call: Promise<unknown>;
  try {
    call = Promise.resolve(tool.run(args, { ...context, signal }));
  } catch (error) {
    call = Promise.reject(error);
  }
  // A tool that ignores its signal may settle after we stopped waiting; nobody listens then.
  call.catch(() => undefined);
  aborted.catch(() => undefined);
  return Promise.race([call, aborted]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    for (const { source, listener } of listeners) source.removeEventListener('abort', listener);
  });
}

/** Waits between attempts; false when the kill or the interrupt fired meanwhile. */
function pause(ms: number, options: RunToolOptions): Promise<boolean> {
  const sources = [options.abort, options.interrupt].filter((s): s is AbortSignal => !!s);
  if (sources.some((s) => s.aborted)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      for (const source of sources) source.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    for (const source of sources) source.addEventListener('abort', onAbort, { once: true });
  });
}

function abortMessage(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return `aborted: ${reason.message}`;
  if (typeof reason === 'string') return `aborted: ${reason}`;
  return 'aborted by a kill';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
