import { z } from 'zod';
import { TransientError } from '@leash/bus';
import { defineTool, type ToolDefinition, type ToolRetryPolicy } from '@leash/agents';
import {
  ToolSemanticError,
  type RegisteredTool,
  type ToolContext,
  type ToolImplementation,
} from './tool-implementation';

/** What the test tool does on one attempt. */
export type TestToolStep =
  | { readonly kind: 'succeed'; readonly output?: unknown }
  | { readonly kind: 'transient' }
  | { readonly kind: 'semantic' }
  | { readonly kind: 'unexpected' }
  /** Waits until its signal aborts (or forever when `ignoreAbort`). */
  | { readonly kind: 'hang'; readonly ignoreAbort?: boolean };

export interface TestToolOptions {
  readonly name?: string;
  readonly timeoutMs?: number;
  readonly retry?: Partial<ToolRetryPolicy>;
  /** One step per attempt, in order; after the last, the tool succeeds. */
  readonly steps?: readonly TestToolStep[];
}

export interface TestToolCall {
  readonly args: Record<string, unknown>;
  readonly ctx: ToolContext;
}

/**
 * A tool for the executor's own tests: it fails, hangs or succeeds as
 * scripted, and records every call with its context (idempotency key, signal).
 * Never registered in production.
 */
export class TestTool implements RegisteredTool {
  readonly definition: ToolDefinition;
  readonly calls: TestToolCall[] = [];
  private readonly steps: TestToolStep[];

  constructor(options: TestToolOptions = {}) {
    this.steps = [...(options.steps ?? [])];
    this.definition = defineTool({
      name: options.name ?? 'test_probe',
      version: 1,
      description: 'A scripted tool for executor tests.',
      parameters: z.object({
        label: z.string().default('probe'),
        output: z.string().optional(),
      }),
      riskClass: 'write',
      actionClass: 'test',
      idempotent: true,
      timeoutMs: options.timeoutMs ?? 1_000,
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5, ...options.retry },
    });
  }

  readonly run: ToolImplementation = async (args, ctx) => {
    this.calls.push({ args, ctx });
    const step = this.steps.shift() ?? { kind: 'succeed' };
    switch (step.kind) {
      case 'succeed':
        return step.output ?? { label: args['label'], output: args['output'] ?? 'ok' };
      case 'transient':
        throw new TransientError('the test backend is briefly unavailable');
      case 'semantic':
        throw new ToolSemanticError('the test backend refuses this request', 'refused');
      case 'unexpected':
        throw new Error('the test backend crashed');
      case 'hang':
        return new Promise<never>((_resolve, reject) => {
          if (step.ignoreAbort) return;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        });
    }
  };
}
