import type { AgentProfile } from './agent-profile';
import type { ToolDefinition } from './tool-definition';

/** Where gates look up the profile an event names. The store-backed catalog implements it. */
export interface ProfileSource {
  /** The given version, or the current one when `version` is absent. */
  profile(name: string, version?: number): Promise<AgentProfile | undefined>;
}

/** The tool definitions the system knows, by name. Definitions are code; their snapshots are versioned data. */
export interface ToolSource {
  tool(name: string): ToolDefinition | undefined;
}
