import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RiskClass } from '@leash/contracts';
import { canonicalHash } from '@leash/signing';
import { ReleaseFileError, parseDataFile } from '../releases/release-file';
import { defineTool, type ToolDefinition } from '../tool-definition';

/*
 * An agent's tools from MCP servers, as its folder keeps them:
 *   mcp.yaml       the servers (stdio or Streamable HTTP) and, per tool, what
 *                  Leash trusts about it: risk class, idempotency, timeout,
 *                  whether a human must approve. A server's own annotations
 *                  are hints, never read.
 *   mcp.lock.json  the tools as pinned by `leash mcp pin`: each one's
 *                  description and input schema, and their digest. The model
 *                  sees these, the policy checks arguments by them, and the
 *                  executor refuses a tool whose server now describes it
 *                  differently (a "rug pull") until an operator pins again.
 */

const ServerName = z.string().regex(/^[a-z][a-z0-9_]{0,19}$/, 'snake_case, at most 20 characters');
/** A tool name as MCP servers give it. */
const McpToolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -');

/** An environment variable's name: secrets come from the environment, never from the folder. */
const FromEnv = z.object({
  env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name'),
  prefix: z.string().max(100).default(''),
});

export const McpToolSettings = z
  .object({
    riskClass: RiskClass.default('irreversible'),
    idempotent: z.boolean().default(false),
    actionClass: z.string().min(1).max(100).optional(),
    timeoutMs: z.number().int().positive().max(600_000).default(30_000),
    needsHuman: z
      .boolean()
      .optional()
      .describe(
        'Every call waits for a reviewer, whatever the policy allows. Default: irreversible tools do.',
      ),
  })
  .strict();
export type McpToolSettings = z.output<typeof McpToolSettings>;

export const McpServerFile = z
  .object({
    stdio: z
      .object({
        command: z.string().min(1),
        args: z.array(z.string()).default([]),
        /** Relative to the agent folder. */
        cwd: z.string().optional(),
        env: z.record(z.string(), FromEnv).default({}),
      })
      .strict()
      .optional(),
    http: z
      .object({
        url: z.url(),
        headers: z.record(z.string(), FromEnv).default({}),
      })
      .strict()
      .optional(),
    tools: z.record(McpToolName, McpToolSettings).default({}),
  })
  .strict()
  .refine((s) => (s.stdio === undefined) !== (s.http === undefined), {
    message: 'give exactly one of stdio or http',
  });
export type McpServerFile = z.output<typeof McpServerFile>;

export const McpFile = z.object({ servers: z.record(ServerName, McpServerFile) }).strict();
export type McpFile = z.output<typeof McpFile>;

export const PinnedTool = z
  .object({
    name: McpToolName,
    description: z.string().max(10_000),
    inputSchema: z.record(z.string(), z.unknown()),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type PinnedTool = z.output<typeof PinnedTool>;

export const McpLock = z
  .object({
    pinnedAt: z.string(),
    pinnedBy: z.string(),
    servers: z.record(ServerName, z.object({ tools: z.array(PinnedTool) }).strict()),
  })
  .strict();
export type McpLock = z.output<typeof McpLock>;

/** An agent's MCP servers and the tools pinned from them. */
export interface McpSetup {
  /** The agent folder: stdio commands run there. */
  readonly dir: string;
  readonly file: string;
  readonly lockFile: string;
  readonly servers: McpFile['servers'];
  readonly lock: McpLock;
}

export const MCP_FILE = 'mcp.yaml';
export const MCP_LOCK_FILE = 'mcp.lock.json';

/** The name Leash gives an MCP tool: the server's name, a dot, the tool's. */
export function mcpToolName(server: string, tool: string): string {
  return `${server}.${tool}`;
}

/** SHA-256 of what the model and the policy see of a tool: its description and input schema. */
export function mcpToolDigest(tool: { description?: string; inputSchema: unknown }): string {
  return canonicalHash({ description: tool.description ?? '', inputSchema: tool.inputSchema });
}

/** The tag of a tool every call of which waits for a reviewer (the policy gate reads it). */
export const NEEDS_HUMAN_TAG = 'needs-human';

/** A pinned tool as a Leash tool, with the settings the folder gives it (safe defaults else). */
export function mcpToolDefinition(
  server: string,
  pinned: PinnedTool,
  given: McpToolSettings | undefined,
): ToolDefinition {
  const settings = given ?? McpToolSettings.parse({});
  const parameters = z.fromJSONSchema({
    type: 'object',
    ...pinned.inputSchema,
  } as Parameters<typeof z.fromJSONSchema>[0]);
  if (!(parameters instanceof z.ZodObject)) {
    throw new Error(`${mcpToolName(server, pinned.name)}: its input schema is not an object`);
  }
  const needsHuman = settings.needsHuman ?? settings.riskClass === 'irreversible';
  return defineTool({
    name: mcpToolName(server, pinned.name),
    // The digest's first 8 hex digits: a re-pinned tool that changed is a new version.
    version: Number.parseInt(pinned.digest.slice(0, 8), 16) || 1,
    description: pinned.description || pinned.name,
    parameters,
    riskClass: settings.riskClass,
    actionClass: settings.actionClass ?? `mcp_${server}`,
    idempotent: settings.idempotent,
    tags: ['mcp', ...(needsHuman ? [NEEDS_HUMAN_TAG] : [])],
    timeoutMs: settings.timeoutMs,
    // A call that may have run is never made again unless the tool is idempotent.
    retry: settings.idempotent
      ? { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 5_000 }
      : { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
  });
}

/**
 * The MCP setup of an agent folder, or undefined when it has no mcp.yaml. A
 * folder with servers but no pin, a pin of a server it does not name, or a
 * setting for a tool that is not pinned is an error naming the file.
 */
export function loadMcpSetup(dir: string): McpSetup | undefined {
  const file = join(dir, MCP_FILE);
  if (!existsSync(file)) return undefined;
  const content = parseDataFile(readFileSync(file, 'utf8'), file, McpFile, 'MCP file');
  const lockFile = join(dir, MCP_LOCK_FILE);
  if (!existsSync(lockFile)) {
    throw new ReleaseFileError(
      file,
      [`its tools are not pinned: run leash mcp pin ${dir} (it writes ${MCP_LOCK_FILE})`],
      'MCP file',
    );
  }
  const lock = parseDataFile(readFileSync(lockFile, 'utf8'), lockFile, McpLock, 'MCP lock file');
  const problems: string[] = [];
  for (const [server, settings] of Object.entries(content.servers)) {
    const pinned = lock.servers[server];
    if (!pinned) {
      problems.push(`servers.${server}: not pinned yet: run leash mcp pin ${dir}`);
      continue;
    }
    for (const tool of Object.keys(settings.tools)) {
      if (!pinned.tools.some((t) => t.name === tool)) {
        problems.push(`servers.${server}.tools.${tool}: the server has no such tool (as pinned)`);
      }
    }
  }
  for (const server of Object.keys(lock.servers)) {
    if (!content.servers[server]) {
      problems.push(`${MCP_LOCK_FILE} pins server ${server}, which ${MCP_FILE} does not name`);
    }
  }
  if (problems.length > 0) throw new ReleaseFileError(file, problems, 'MCP file');
  return { dir, file, lockFile, servers: content.servers, lock };
}

/** Every pinned tool of a setup as a Leash tool. */
export function mcpTools(setup: McpSetup): ToolDefinition[] {
  return Object.entries(setup.lock.servers).flatMap(([server, { tools }]) =>
    tools.map((pinned) => {
      try {
        return mcpToolDefinition(server, pinned, setup.servers[server]?.tools[pinned.name]);
      } catch (error) {
        throw new ReleaseFileError(
          setup.lockFile,
          [`servers.${server}.${pinned.name}: ${(error as Error).message}`],
          'MCP lock file',
        );
      }
    }),
  );
}
