import type { ToolDefinition, ToolSource } from '@leash/agents';
import { referenceTools } from './reference-tools';
import type { RegisteredTool, ToolImplementation } from './tool-implementation';

/**
 * Tool name -> definition and implementation. The executor runs only what is
 * registered here; definitions are the same objects the policy gate checks
 * arguments against, so a tool cannot run with parameters policy never saw.
 */
export class ToolRegistry implements ToolSource {
  private readonly tools = new Map<string, RegisteredTool>();
  /** What the tools hold open (MCP servers' connections), closed with the executor. */
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(tools: Iterable<RegisteredTool> = []) {
    for (const tool of tools) this.register(tool.definition, tool.run);
  }

  register(definition: ToolDefinition, run: ToolImplementation): this {
    if (this.tools.has(definition.name)) {
      throw new Error(`tool ${definition.name} is registered twice`);
    }
    this.tools.set(definition.name, { definition, run });
    return this;
  }

  /**
   * Replaces a registered tool's implementation with one built around it, keeping its
   * definition: for fixtures that observe or slow a real tool.
   */
  wrap(name: string, around: (inner: ToolImplementation) => ToolImplementation): this {
    const tool = this.get(name);
    if (!tool) throw new Error(`tool ${name} is not registered`);
    this.tools.set(name, { definition: tool.definition, run: around(tool.run) });
    return this;
  }

  /** Runs `close` when the registry closes. */
  onClose(close: () => Promise<void>): this {
    this.closers.push(close);
    return this;
  }

  /** Closes what the tools hold open; for the executor's shutdown. */
  async close(): Promise<void> {
    await Promise.all(this.closers.splice(0).map((close) => close().catch(() => undefined)));
  }

  get(name: string): RegisteredTool | undefined {
    return this.tools.get(name);
  }

  tool(name: string): ToolDefinition | undefined {
    return this.tools.get(name)?.definition;
  }

  get names(): string[] {
    return [...this.tools.keys()].sort();
  }
}

/** The reference agents' tools over the simulated backends, plus any extra (test) tools. */
export function createToolRegistry(extra: Iterable<RegisteredTool> = []): ToolRegistry {
  return new ToolRegistry([...referenceTools(), ...extra]);
}
