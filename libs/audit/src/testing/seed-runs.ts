import type { Store } from '@leash/store';
import { runSummaries, runTools, type RunStatus, type RunSummary } from '../audit.aggregates';
import { toolRowsOf } from '../run-summary';

/*
 * Synthetic run summaries for the search's tests and benchmark: a
 * deterministic spread of tenants, agents, statuses, error classes, tools,
 * costs, latencies and start times over the `days` before `now`.
 */

const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
const AGENTS = ['it-helpdesk', 'procurement', 'support'];
const TOOLS = [
  'search_kb',
  'open_ticket',
  'reset_password',
  'place_order',
  'send_email',
  'issue_refund',
];
const STATUSES: RunStatus[] = [
  'succeeded',
  'succeeded',
  'succeeded',
  'failed',
  'rejected',
  'killed',
];
const ERRORS = ['tool_timeout', 'tool_semantic', 'cap_exceeded', 'policy_denied'];

/** A small deterministic generator, so a seed gives the same store every time. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

export function syntheticRun(index: number, now: Date, days = 30, seed = 1): RunSummary {
  const random = generator(seed * 1_000_003 + index);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const startedMs = now.getTime() - Math.floor(random() * days * 86_400_000);
  const latencyMs = 200 + Math.floor(random() * 120_000);
  const status = pick(STATUSES);
  const tools = [...new Set([pick(TOOLS), pick(TOOLS)])].sort();
  const errorClass = status === 'succeeded' ? null : status === 'failed' ? pick(ERRORS) : status;
  const startedAt = new Date(startedMs).toISOString();
  return {
    taskId: `seed-${String(index).padStart(7, '0')}`,
    tenantId: pick(TENANTS),
    agent: pick(AGENTS),
    agentVersion: 1,
    status,
    errorClass,
    startedAt,
    finishedAt: new Date(startedMs + latencyMs).toISOString(),
    costUsdMicros: Math.floor(random() * 5_000_000),
    usageUsdMicros: 0,
    inputTokens: Math.floor(random() * 20_000),
    outputTokens: Math.floor(random() * 4_000),
    latencyMs,
    tools,
    toolCalls: tools.length,
    rejections: status === 'rejected' ? 1 : 0,
    toolFailures: status === 'failed' ? 1 : 0,
    versions: { profile: 1, prompt: 'p@1', model: 'gpt-4o-mini', tools: 'abc123', policy: 1 },
    events: 10,
    updatedAt: now.toISOString(),
  };
}

/** Writes `count` synthetic runs (and their tool rows) in batches; returns them. */
export async function seedRuns(
  store: Store,
  count: number,
  now: Date,
  options: { readonly days?: number; readonly batch?: number } = {},
): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  const batch = options.batch ?? 20_000;
  for (let start = 0; start < count; start += batch) {
    const chunk: RunSummary[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      chunk.push(syntheticRun(i, now, options.days));
    }
    await store.transaction(async (tx) => {
      const summaries = tx.repository(runSummaries);
      const tools = tx.repository(runTools);
      for (const run of chunk) {
        await summaries.upsert(run);
        for (const row of toolRowsOf(run)) await tools.upsert(row);
      }
    });
    runs.push(...chunk);
  }
  return runs;
}
