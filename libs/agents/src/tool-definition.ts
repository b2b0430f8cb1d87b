import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { RiskClass } from '@leash/contracts';

/** How a tool's transient failures are retried by the executor. */
export interface ToolRetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * What kind of identity an argument holds (an account, a domain, a party's
 * id). The policy gate compares identities only in their canonical form
 * (see `canonicalIdentity`), so `CEO@ACME.EXAMPLE` meets the rules written
 * for `ceo@acme.example`.
 */
export type IdentityKind = 'email' | 'domain' | 'id';

/** An undo: the tool to call and how to build its arguments from the original call and result. */
export interface ToolCompensation {
  readonly tool: string;
  readonly arguments: (
    original: Record<string, unknown>,
    output: unknown,
  ) => Record<string, unknown>;
}

/**
 * A tool as data. The parameters are a zod object: the model receives them as
 * JSON Schema, the policy gate parses the arguments with them.
 */
export interface ToolDefinition<P extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly version: number;
  /** Written for the model: what the tool does and when to use it. */
  readonly description: string;
  readonly parameters: P;
  readonly riskClass: RiskClass;
  /** Bucket for per-class caps and rate limits, e.g. `refund`, `purchase_order`, `email`. */
  readonly actionClass: string;
  readonly tags: readonly string[];
  /** Safe to run twice with the same arguments (reads, upserts). */
  readonly idempotent: boolean;
  /** For money-moving tools: the argument that holds the amount, in US dollars. */
  readonly amountField?: keyof z.infer<P> & string;
  /**
   * With amountField: the arguments that make two actions parts of one
   * payment (an order's SKU). The policy's `context.taskAmount` adds up the
   * task's earlier proposals of the tool with the same values of these;
   * absent, every earlier proposal of the tool in the task.
   */
  readonly amountPer?: readonly (keyof z.infer<P> & string)[];
  /** Arguments that name someone or something a policy may compare (each string in them). */
  readonly identities?: Readonly<Partial<Record<keyof z.infer<P> & string, IdentityKind>>>;
  readonly compensation?: ToolCompensation;
  readonly timeoutMs: number;
  readonly retry: ToolRetryPolicy;
}

/** A tool's name: snake_case, or `server.tool` for a tool of an MCP server (see mcp/mcp-files.ts). */
const TOOL_NAME = /^(?:[a-z][a-z0-9_]{0,63}|[a-z][a-z0-9_]{0,19}\.[A-Za-z0-9_-]{1,64})$/;

const DEFAULT_RETRY: ToolRetryPolicy = { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 5_000 };

export function defineTool<P extends z.ZodObject>(
  definition: Omit<ToolDefinition<P>, 'retry' | 'timeoutMs' | 'tags'> &
    Partial<Pick<ToolDefinition<P>, 'retry' | 'timeoutMs' | 'tags'>>,
): ToolDefinition<P> {
  if (!TOOL_NAME.test(definition.name)) {
    throw new Error(
      `tool name "${definition.name}" must be snake_case, at most 64 characters (or server.tool for an MCP server's)`,
    );
  }
  if (definition.amountField && !(definition.amountField in definition.parameters.shape)) {
    throw new Error(
      `tool ${definition.name}: amountField "${definition.amountField}" is not a parameter`,
    );
  }
  for (const field of definition.amountPer ?? []) {
    if (!definition.amountField || !(field in definition.parameters.shape)) {
      throw new Error(
        `tool ${definition.name}: amountPer "${field}" needs an amountField and must be a parameter`,
      );
    }
  }
  for (const field of Object.keys(definition.identities ?? {})) {
    if (!(field in definition.parameters.shape)) {
      throw new Error(`tool ${definition.name}: identity "${field}" is not a parameter`);
    }
  }
  return Object.freeze({
    timeoutMs: 30_000,
    tags: [],
    ...definition,
    retry: { ...DEFAULT_RETRY, ...definition.retry },
  });
}

// Definitions are frozen and zod schemas immutable, so each tool's JSON Schema is built once.
const JSON_SCHEMA_TEXTS = new WeakMap<ToolDefinition, string>();

/** The tool's parameters as JSON Schema, as the model and the audit log see them; a fresh copy. */
export function toolJsonSchema(tool: ToolDefinition): Record<string, unknown> {
  let text = JSON_SCHEMA_TEXTS.get(tool);
  if (text === undefined) {
    const schema = z.toJSONSchema(tool.parameters, { target: 'draft-7' }) as Record<
      string,
      unknown
    >;
    delete schema.$schema;
    text = JSON.stringify(schema);
    JSON_SCHEMA_TEXTS.set(tool, text);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * What of a tool is recorded with each version: everything but code. Not
 * `identities`: they say how the policy gate reads arguments, not what the
 * tool does, and recording them would change every shipped tool's hash at
 * its version (the catalog refuses that on a store that recorded it).
 */
export function toolSnapshot(tool: ToolDefinition): Record<string, unknown> {
  return {
    name: tool.name,
    version: tool.version,
    description: tool.description,
    parameters: toolJsonSchema(tool),
    riskClass: tool.riskClass,
    actionClass: tool.actionClass,
    tags: [...tool.tags],
    idempotent: tool.idempotent,
    amountField: tool.amountField ?? null,
    // Only when set: the fingerprint of every tool without it stays as it was.
    ...(tool.amountPer ? { amountPer: [...tool.amountPer] } : {}),
    compensation: tool.compensation?.tool ?? null,
    timeoutMs: tool.timeoutMs,
    retry: tool.retry,
  };
}

/** A short, stable version string for a set of tools: changes when any definition changes. */
export function toolsetVersion(tools: readonly ToolDefinition[]): string {
  const snapshots = [...tools]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => JSON.stringify(toolSnapshot(t)));
  return createHash('sha256').update(snapshots.join('\n')).digest('hex').slice(0, 12);
}
