import type { RunSummary } from './audit.aggregates';
import { changedToolRows } from './run-summary';

const run = (change: Partial<RunSummary> = {}): RunSummary => ({
  taskId: 'task-1',
  tenantId: 'acme',
  agent: 'support',
  status: 'running',
  errorClass: null,
  startedAt: '2026-11-21T10:00:00.000Z',
  finishedAt: null,
  costUsdMicros: 100,
  usageUsdMicros: 100,
  inputTokens: 10,
  outputTokens: 5,
  latencyMs: null,
  tools: ['lookup_customer'],
  toolCalls: 1,
  rejections: 0,
  toolFailures: 0,
  versions: {},
  events: 4,
  updatedAt: '2026-11-21T10:00:01.000Z',
  ...change,
});
const tools = (rows: readonly { tool: string }[]) => rows.map((row) => row.tool);

describe('changedToolRows', () => {
  it('gives every row of a run not stored before', () => {
    expect(tools(changedToolRows(undefined, run({ tools: ['a', 'b'] })))).toEqual(['a', 'b']);
  });

  it('gives none when only fields the rows do not copy changed', () => {
    const before = run();
    const after = run({ events: 9, toolCalls: 2, updatedAt: '2026-11-21T10:00:02.000Z' });
    expect(changedToolRows(before, after)).toEqual([]);
  });

  it('gives every row when a copied field changed, and a new tool alone otherwise', () => {
    const before = run({ tools: ['a', 'b'] });
    expect(tools(changedToolRows(before, run({ tools: ['a', 'b'], costUsdMicros: 250 })))).toEqual([
      'a',
      'b',
    ]);
    expect(tools(changedToolRows(before, run({ tools: ['a', 'b', 'c'] })))).toEqual(['c']);
    const finished = run({ tools: ['a', 'b'], status: 'failed', errorClass: 'tool_timeout' });
    expect(changedToolRows(before, finished)).toMatchObject([
      { tool: 'a', status: 'failed', errorClass: 'tool_timeout' },
      { tool: 'b', status: 'failed', errorClass: 'tool_timeout' },
    ]);
  });
});
