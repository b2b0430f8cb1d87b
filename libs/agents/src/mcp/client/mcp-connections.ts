import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  mcpToolDigest,
  mcpToolName,
  type McpServerFile,
  type McpSetup,
  type PinnedTool,
} from '../mcp-files';

/*
 * Connections to an agent's MCP servers through the official SDK client:
 * made on first use, one per server, and checked against the pin before any
 * call goes through.
 */

/** The longest name a model API takes for a function (OpenAI's); a namespaced tool must fit. */
export const MAX_WIRE_NAME = 64;

/** A server, or a tool of it, that cannot be used as asked; the message says why and what to do. */
export class McpToolError extends Error {
  override readonly name = 'McpToolError';
  constructor(
    message: string,
    /** `changed_since_pin`, `not_pinned`, `tool_error`, `unavailable`. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** What a tools/list answered, for one server. */
export interface ListedTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
}

/** The transport a server's entry names; secrets come from `env` (the process's environment). */
export function transportOf(
  server: string,
  entry: McpServerFile,
  dir: string,
  env: NodeJS.ProcessEnv,
): Transport {
  const fromEnv = (name: string, value: { env: string; prefix: string }): string => {
    const secret = env[value.env];
    if (secret === undefined || secret === '') {
      throw new McpToolError(
        `MCP server ${server}: ${name} comes from ${value.env}, which is not set`,
        'unavailable',
      );
    }
    return `${value.prefix}${secret}`;
  };
  if (entry.stdio) {
    const stdio = entry.stdio;
    return new StdioClientTransport({
      command: stdio.command,
      args: stdio.args,
      cwd: resolve(dir, stdio.cwd ?? '.'),
      env: {
        PATH: env.PATH ?? '',
        ...Object.fromEntries(
          Object.entries(stdio.env).map(([name, value]) => [name, fromEnv(name, value)]),
        ),
      },
      stderr: 'pipe',
    });
  }
  const http = entry.http!;
  return new StreamableHTTPClientTransport(new URL(http.url), {
    requestInit: {
      headers: Object.fromEntries(
        Object.entries(http.headers).map(([name, value]) => [name, fromEnv(name, value)]),
      ),
    },
  });
}

/** Connects a client to one server; the caller closes it. */
export async function connectServer(
  server: string,
  entry: McpServerFile,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Client> {
  const client = new Client({ name: 'leash', version: '0.1.0' });
  try {
    await client.connect(transportOf(server, entry, dir, env));
  } catch (error) {
    await client.close().catch(() => undefined);
    if (error instanceof McpToolError) throw error;
    throw new McpToolError(
      `MCP server ${server}: cannot connect: ${(error as Error).message}`,
      'unavailable',
    );
  }
  return client;
}

/** Every tool a server lists, across pages. */
export async function listTools(client: Client): Promise<ListedTool[]> {
  const tools: ListedTool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    for (const tool of page.tools) {
      tools.push({
        name: tool.name,
        description: tool.description ?? '',
        inputSchema: tool.inputSchema as Record<string, unknown>,
      });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** The pin of what a server lists now. */
export function pinOf(server: string, listed: readonly ListedTool[]): PinnedTool[] {
  return [...listed]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((tool) => {
      const wire = mcpToolName(server, tool.name).replace('.', '__');
      if (wire.length > MAX_WIRE_NAME) {
        throw new McpToolError(
          `MCP server ${server}: tool ${tool.name} makes a name of ${wire.length} characters; model APIs take ${MAX_WIRE_NAME}: use a shorter server name`,
          'unavailable',
        );
      }
      return { ...tool, digest: mcpToolDigest(tool) };
    });
}

/**
 * An agent's servers, connected on first use and kept open. Before a
 * server's first call its tools are listed and each compared with the pin: a
 * tool whose description or input schema changed, or that is gone, is
 * refused until an operator pins again.
 */
export class McpConnections {
  private readonly clients = new Map<
    string,
    Promise<{ client: Client; changed: Map<string, string> }>
  >();

  constructor(
    private readonly setup: McpSetup,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** How a server is reached: connectServer, unless a test links one in memory. */
    private readonly connectTo: (server: string) => Promise<Client> = (server) =>
      connectServer(server, this.setup.servers[server]!, this.setup.dir, this.env),
  ) {}

  /** The client of `server`, checked against the pin, and why a tool may not be called (by tool). */
  private connection(server: string) {
    let connecting = this.clients.get(server);
    if (!connecting) {
      connecting = this.connect(server);
      this.clients.set(server, connecting);
      // A failed connection is tried again by the next call.
      connecting.catch(() => this.clients.delete(server));
    }
    return connecting;
  }

  private async connect(server: string) {
    if (!this.setup.servers[server]) {
      throw new McpToolError(`no MCP server ${server} in ${this.setup.file}`, 'not_pinned');
    }
    const client = await this.connectTo(server);
    const changed = new Map<string, string>();
    const compare = async () => {
      const live = new Map((await listTools(client)).map((t) => [t.name, t]));
      changed.clear();
      for (const pinned of this.setup.lock.servers[server]?.tools ?? []) {
        const now = live.get(pinned.name);
        if (!now) changed.set(pinned.name, 'the server no longer lists it');
        else if (mcpToolDigest(now) !== pinned.digest) {
          changed.set(
            pinned.name,
            'the server now describes it differently (its description or input schema changed)',
          );
        }
      }
    };
    try {
      await compare();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    // A server that changes its tools while connected says so; they are compared again.
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      await compare().catch(() => {
        // Unknown now: refuse every pinned tool of it until a comparison succeeds.
        for (const pinned of this.setup.lock.servers[server]?.tools ?? []) {
          changed.set(
            pinned.name,
            'its tools could not be listed again after the server changed them',
          );
        }
      });
    });
    return { client, changed };
  }

  /** Why a pinned tool would be refused now (connecting to its server first); undefined when it would not. */
  async refusal(tool: string): Promise<string | undefined> {
    const dot = tool.indexOf('.');
    const { changed } = await this.connection(tool.slice(0, dot));
    return changed.get(tool.slice(dot + 1));
  }

  /**
   * Calls a pinned tool once. The action id travels as the idempotency key in
   * the request's `_meta`; `signal` (a kill, the tool's timeout) cancels the
   * request through the SDK, which tells the server.
   */
  async call(
    tool: string,
    args: Record<string, unknown>,
    options: {
      readonly actionId: string;
      readonly signal: AbortSignal;
      readonly timeoutMs: number;
    },
  ): Promise<{ content: unknown; structuredContent?: unknown }> {
    const dot = tool.indexOf('.');
    const server = tool.slice(0, dot);
    const name = tool.slice(dot + 1);
    const { client, changed } = await this.connection(server);
    const why = changed.get(name);
    if (why !== undefined) {
      throw new McpToolError(
        `${tool} is refused: ${why} since it was pinned; an operator reviews the change and runs leash mcp pin ${this.setup.dir}, then makes a release`,
        'changed_since_pin',
      );
    }
    const result = await client.callTool(
      { name, arguments: args, _meta: { 'leash/idempotencyKey': options.actionId } },
      undefined,
      { signal: options.signal, timeout: options.timeoutMs },
    );
    if (result.isError) {
      const text = textOf(result.content);
      throw new McpToolError(
        `${tool} failed: ${text || 'the server reported an error'}`,
        'tool_error',
      );
    }
    return {
      content: result.content,
      ...(result.structuredContent !== undefined
        ? { structuredContent: result.structuredContent }
        : {}),
    };
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      clients.map((c) => c.then(({ client }) => client.close()).catch(() => undefined)),
    );
  }
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .filter((c): c is { type: 'text'; text: string } => c?.type === 'text')
    .map((c) => c.text)
    .join(' ')
    .slice(0, 2_000);
}
