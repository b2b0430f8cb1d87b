import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { agentSetOf, loadAgentFolder, McpServerFile, REFERENCE_AGENT_SET } from '@leash/agents';
import { connectServer, listTools, pinOf } from '@leash/agents/mcp';
import { startHttpTestServer } from '@leash/agents/mcp-testing';
import { mcpImplementations } from './mcp-tools';
import { isToolSemanticError } from './tool-implementation';

/*
 * The executor's code for MCP tools, from an agent folder: a call is a span
 * of its own under the tool's span, named for the server and the tool; a
 * server's error fails the action without a retry.
 */

const exporter = new InMemorySpanExporter();

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
});
afterAll(() => {
  trace.disable();
  context.disable();
});

it('calls a pinned tool in a span under the tool span, and fails a refused one as semantic', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'leash-mcp-exec-'));
  const http = await startHttpTestServer({ callsFile: join(dir, 'calls.jsonl') });
  const closers: (() => Promise<void>)[] = [() => http.close()];
  try {
    const servers = { desk: { http: { url: http.url } } };
    const client = await connectServer('desk', McpServerFile.parse(servers.desk), dir, {});
    const tools = pinOf('desk', await listTools(client));
    await client.close();
    // Pinned with one tool described differently from how the server describes it now.
    const tampered = tools.map((t) =>
      t.name === 'update_order' ? { ...t, digest: '0'.repeat(64) } : t,
    );
    writeFileSync(
      join(dir, 'agent.yaml'),
      'name: desk-agent\nmodel: gpt-4o-mini\nprompt: { text: Help. }\npolicy: { cedar: "permit (principal, action, resource);" }\ncaps:\n  task: { tokens: 1000, toolCalls: 3, wallClockMs: 60000, usd: 0.1 }\n  tenantDay: { usd: 1 }\n',
    );
    writeFileSync(join(dir, 'mcp.yaml'), `servers:\n  desk:\n    http: { url: "${http.url}" }\n`);
    writeFileSync(
      join(dir, 'mcp.lock.json'),
      JSON.stringify({ pinnedAt: 'now', pinnedBy: 'test', servers: { desk: { tools: tampered } } }),
    );
    const agent = loadAgentFolder(dir, REFERENCE_AGENT_SET.tools);
    expect(agent.profile.tools).toEqual(
      expect.arrayContaining(['desk.lookup_order', 'desk.update_order', 'desk.slow_report']),
    );
    const mcp = mcpImplementations(agentSetOf([agent]));
    closers.push(mcp.close);
    const ctx = (actionId: string) => ({
      actionId,
      tenantId: 't',
      taskId: 'task',
      signal: new AbortController().signal,
      backends: undefined as never,
    });

    const tracer = trace.getTracer('test');
    const output = await tracer.startActiveSpan('tool desk.lookup_order', async (span) => {
      try {
        return await mcp.tools.get('desk.lookup_order')!({ orderId: 'O-7' }, ctx('a-1'));
      } finally {
        span.end();
      }
    });
    expect(JSON.stringify(output)).toContain('Order O-7');
    const spans = exporter.getFinishedSpans();
    const toolSpan = spans.find((s) => s.name === 'tool desk.lookup_order')!;
    const mcpSpan = spans.find((s) => s.name === 'mcp desk.lookup_order')!;
    expect(mcpSpan.parentSpanContext?.spanId).toBe(toolSpan.spanContext().spanId);
    expect(mcpSpan.attributes).toMatchObject({
      'mcp.server': 'desk',
      'mcp.tool': 'lookup_order',
      'leash.action_id': 'a-1',
    });

    const refused = mcp.tools.get('desk.update_order')!(
      { orderId: 'O-7', address: 'x' },
      ctx('a-2'),
    );
    const error = await refused.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isToolSemanticError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'changed_since_pin' });
  } finally {
    for (const close of closers.reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
