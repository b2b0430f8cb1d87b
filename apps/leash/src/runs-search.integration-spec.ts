import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchRuns, seedRuns, type RunSummary } from '@leash/audit';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import type { Store } from '@leash/store';
import { parseRunsCommand } from './cli/runs.command';

/*
 * The run search (what `leash runs search` runs) on the embedded store
 * seeded with 100,000 runs: answers match a
 * scan of the same runs in memory. How fast it answers is bench/audit.bench.ts's
 * concern; the time is printed here for whoever reads the log.
 */

const COUNT = 100_000;
const NOW = new Date('2026-06-30T12:00:00.000Z');

describe('searchRuns over 100,000 stored runs', () => {
  let dir: string;
  let engines: Engines;
  let store: Store;
  let runs: RunSummary[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-audit-search-'));
    const env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    engines = await openEngines(loadConfig(BASE_ENV, { env }), {
      source: 'runs-search-test',
      relayOutbox: false,
    });
    store = engines.store;
    runs = await seedRuns(store, COUNT, NOW);
  }, 300_000);

  afterAll(async () => {
    await engines?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const since = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();

  it('finds the five most expensive failures of the last 7 days', async () => {
    const command = parseRunsCommand(
      ['search', '--status', 'failed', '--since', '7d', '--sort', 'cost', '--limit', '5'],
      NOW,
    );
    if (command.kind !== 'runs-search') throw new Error('not a search');
    const started = performance.now();
    const found = await searchRuns(store, command.search);
    const ms = performance.now() - started;
    process.stdout.write(`audit: search ${ms.toFixed(1)} ms over ${COUNT} runs (integration)\n`);
    const expected = runs
      .filter((run) => run.status === 'failed' && run.startedAt >= since(7))
      .sort((a, b) => b.costUsdMicros - a.costUsdMicros || (a.taskId < b.taskId ? 1 : -1))
      .slice(0, 5);
    expect(found.map((run) => run.taskId)).toEqual(expected.map((run) => run.taskId));
    expect(found).toHaveLength(5);
  });

  it('filters by tenant, agent, error class and tool, and sorts by latency', async () => {
    const found = await searchRuns(store, {
      tenantId: 'acme',
      agent: 'support',
      errorClass: 'tool_timeout',
      tool: 'send_email',
      since: since(30),
      sort: 'latency',
      limit: 10,
    });
    const expected = runs
      .filter(
        (run) =>
          run.tenantId === 'acme' &&
          run.agent === 'support' &&
          run.errorClass === 'tool_timeout' &&
          run.tools.includes('send_email') &&
          run.startedAt >= since(30),
      )
      .sort((a, b) => (b.latencyMs ?? 0) - (a.latencyMs ?? 0) || (a.taskId < b.taskId ? 1 : -1))
      .slice(0, 10);
    expect(found.map((run) => run.taskId)).toEqual(expected.map((run) => run.taskId));
    expect(found.length).toBeGreaterThan(0);
  });

  it('bounds the start time on both sides and sorts oldest first on request', async () => {
    const found = await searchRuns(store, {
      since: since(3),
      until: since(2),
      sort: 'started',
      order: 'asc',
      limit: 3,
    });
    const expected = runs
      .filter((run) => run.startedAt >= since(3) && run.startedAt < since(2))
      .sort((a, b) =>
        a.startedAt < b.startedAt
          ? -1
          : a.startedAt > b.startedAt
            ? 1
            : a.taskId < b.taskId
              ? -1
              : 1,
      )
      .slice(0, 3);
    expect(found.map((run) => run.taskId)).toEqual(expected.map((run) => run.taskId));
  });
});
