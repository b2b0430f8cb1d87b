import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  MCP_LOCK_FILE,
  McpFile,
  McpLock,
  ReleaseFileError,
  parseDataFile,
  type PinnedTool,
} from '@leash/agents';
import { McpToolError, connectServer, listTools, pinOf } from '@leash/agents/mcp';
import { UsageError } from './arguments';
import type { Terminal } from './terminal';

/** `leash mcp pin DIR`: what an agent folder's MCP servers offer, pinned. */
export type McpCommand =
  | { readonly kind: 'help'; readonly topic: 'mcp' }
  | { readonly kind: 'mcp-pin'; readonly dir: string; readonly by: string };

export const MCP_HELP = `leash mcp pin DIR [--by WHO]

Connects to each MCP server the agent folder DIR names in its mcp.yaml
(stdio: runs the command; http: the URL, with headers from the environment
variables mcp.yaml names), lists its tools, and writes them to
DIR/mcp.lock.json: each tool's description, input schema and their digest.
Every service reads the pinned tools (as server.tool); the model sees their
descriptions and schemas, the policy gate checks arguments by them, and the
executor refuses a tool whose server now describes it differently, until
this command pins it again. It prints what changed since the last pin, so an
operator reviews a changed description or schema before accepting it; then
leash release create --agent A --file DIR/agent.yaml makes it a release.
No running Leash is needed.
`;

export function parseMcpCommand(
  argv: readonly string[],
  options: { issuedBy: string },
): McpCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || ['help', '--help', '-h'].includes(sub)) {
    return { kind: 'help', topic: 'mcp' };
  }
  if (sub !== 'pin') throw new UsageError(`unknown mcp command "${sub}": use mcp pin DIR`, 'mcp');
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { by: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`mcp pin: ${(error as Error).message.split('. ')[0]}`, 'mcp');
  }
  const [dir, ...extra] = parsed.positionals;
  if (!dir || extra.length > 0)
    throw new UsageError('mcp pin takes one agent folder: mcp pin DIR', 'mcp');
  return { kind: 'mcp-pin', dir, by: parsed.values.by?.trim() || options.issuedBy };
}

/** Pins every server's tools; a server that cannot be reached changes nothing. */
export async function runMcpPin(
  command: Extract<McpCommand, { kind: 'mcp-pin' }>,
  terminal: Terminal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const dir = resolve(command.dir);
  const file = join(dir, 'mcp.yaml');
  if (!existsSync(file)) {
    terminal.err(`leash: ${file} does not exist: an agent folder names its MCP servers there`);
    return 2;
  }
  const lockFile = join(dir, MCP_LOCK_FILE);
  let config: McpFile;
  let before: McpLock | undefined;
  try {
    config = parseDataFile(readFileSync(file, 'utf8'), file, McpFile, 'MCP file');
    before = existsSync(lockFile)
      ? parseDataFile(readFileSync(lockFile, 'utf8'), lockFile, McpLock, 'MCP lock file')
      : undefined;
  } catch (error) {
    if (!(error instanceof ReleaseFileError)) throw error;
    terminal.err(`leash: ${error.message}`);
    return 2;
  }
  const servers: McpLock['servers'] = {};
  for (const [server, entry] of Object.entries(config.servers)) {
    try {
      const client = await connectServer(server, entry, dir, env);
      try {
        servers[server] = { tools: pinOf(server, await listTools(client)) };
      } finally {
        await client.close();
      }
    } catch (error) {
      if (!(error instanceof McpToolError)) throw error;
      terminal.err(`leash: ${error.message}; nothing was pinned`);
      return 1;
    }
    for (const line of changes(server, before?.servers[server]?.tools, servers[server].tools)) {
      terminal.out(line);
    }
  }
  const lock: McpLock = { pinnedAt: new Date().toISOString(), pinnedBy: command.by, servers };
  // Written whole or not at all.
  writeFileSync(`${lockFile}.tmp`, `${JSON.stringify(lock, null, 2)}\n`);
  renameSync(`${lockFile}.tmp`, lockFile);
  const count = Object.values(servers).reduce((n, s) => n + s.tools.length, 0);
  terminal.out(
    `pinned ${count} tool(s) of ${Object.keys(servers).length} server(s) in ${lockFile}`,
  );
  return 0;
}

/** What changed in a server's tools since the last pin, a line each. */
function changes(
  server: string,
  before: readonly PinnedTool[] | undefined,
  after: readonly PinnedTool[],
): string[] {
  if (!before) return after.map((t) => `${server}.${t.name}: pinned (new)`);
  const old = new Map(before.map((t) => [t.name, t]));
  const lines: string[] = [];
  for (const tool of after) {
    const was = old.get(tool.name);
    if (!was) lines.push(`${server}.${tool.name}: new tool`);
    else if (was.digest !== tool.digest) {
      lines.push(`${server}.${tool.name}: CHANGED since the last pin; review it before a release:`);
      if (was.description !== tool.description) {
        lines.push(
          `  description was: ${was.description}`,
          `  description now: ${tool.description}`,
        );
      }
      if (JSON.stringify(was.inputSchema) !== JSON.stringify(tool.inputSchema)) {
        lines.push(
          `  input schema was: ${JSON.stringify(was.inputSchema)}`,
          `  input schema now: ${JSON.stringify(tool.inputSchema)}`,
        );
      }
    }
    old.delete(tool.name);
  }
  for (const name of old.keys()) lines.push(`${server}.${name}: gone from the server`);
  return lines;
}
