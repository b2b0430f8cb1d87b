import { toolJsonSchema, type ToolDefinition } from '@leash/agents';
import { zodFunction } from 'openai/helpers/zod';
import { z } from 'zod';
import type { ModelTool } from './model.port';

/**
 * The parameters as strict structured outputs accept them: every field
 * required, so a top-level optional field becomes nullable (the model sends
 * null for "absent"; `argumentsForProposal` turns that back into absent).
 */
function strictParameters(tool: ToolDefinition): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, field] of Object.entries(tool.parameters.shape as Record<string, z.ZodType>)) {
    if (!(field instanceof z.ZodOptional)) {
      shape[name] = field;
      continue;
    }
    const nullable = (field.unwrap() as z.ZodType).nullable();
    shape[name] = field.description ? nullable.describe(field.description) : nullable;
  }
  return z.object(shape);
}

/**
 * A tool for the model, its JSON Schema built by openai/helpers/zod (strict
 * mode). A schema strict mode cannot express falls back to the plain JSON
 * Schema of the definition, not strict: the policy gate validates either way.
 */
export function modelToolOf(tool: ToolDefinition): ModelTool {
  try {
    const built = zodFunction({
      name: tool.name,
      parameters: strictParameters(tool),
      description: tool.description,
    });
    const { $schema: _ignored, ...parameters } = built.function.parameters as Record<
      string,
      unknown
    >;
    return { name: tool.name, description: tool.description, parameters, strict: true };
  } catch {
    return {
      name: tool.name,
      description: tool.description,
      parameters: toolJsonSchema(tool),
      strict: false,
    };
  }
}

export type ParsedArguments =
  | { readonly ok: true; readonly arguments: Record<string, unknown> }
  | { readonly ok: false; readonly error: string };

/**
 * Reads a tool call's raw arguments. Not JSON, or not an object: an error
 * for the model. Nulls in fields the tool declares optional are dropped
 * (strict mode makes the model send them). Everything else is left for the
 * policy gate to validate against the tool's schema.
 */
export function argumentsForProposal(
  tool: ToolDefinition | undefined,
  raw: string,
): ParsedArguments {
  let value: unknown;
  try {
    value = JSON.parse(raw.trim() === '' ? '{}' : raw);
  } catch (error) {
    return { ok: false, error: `the arguments are not valid JSON: ${(error as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: 'the arguments must be a JSON object of named parameters' };
  }
  const args = { ...(value as Record<string, unknown>) };
  if (tool) {
    const shape = tool.parameters.shape as Record<string, z.ZodType>;
    for (const [name, field] of Object.entries(shape)) {
      if (args[name] === null && field instanceof z.ZodOptional) delete args[name];
    }
  }
  return { ok: true, arguments: args };
}

/** Model tools for a profile's allowlist, cached per tool definition (definitions are immutable). */
export class ModelToolCatalog {
  private readonly cache = new WeakMap<ToolDefinition, ModelTool>();

  of(tools: readonly ToolDefinition[]): ModelTool[] {
    return tools.map((tool) => {
      let built = this.cache.get(tool);
      if (!built) {
        built = modelToolOf(tool);
        this.cache.set(tool, built);
      }
      return built;
    });
  }
}
