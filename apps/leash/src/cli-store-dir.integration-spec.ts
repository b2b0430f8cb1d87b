import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCatalog, REFERENCE_AGENTS } from '@leash/agents';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from '@leash/engines';
import { runCli } from './cli';
import { recordingTerminal } from './cli/testing/recording-terminal';

/*
 * Distributed on one machine, each service owns a store in LEASH_STORE_DIR. The
 * CLI reads each command's owner's: the planner's catalog for a submission,
 * the approvals service's queue for `approvals list`.
 */
describe('the CLI with a store per service (LEASH_STORE_DIR)', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-store-dir-'));
    env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_DIR: join(dir, 'stores') };
    // Only the planner has started: its store holds the catalog it seeded.
    const planner = await openEngines(loadConfig(BASE_ENV, { env }), {
      source: 'planner',
      owner: 'planner',
      relayOutbox: false,
    });
    await new AgentCatalog(planner.store).seed(Object.values(REFERENCE_AGENTS));
    await planner.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("submits a task against the planner's catalog", async () => {
    const run = recordingTerminal();
    const code = await runCli(
      ['task', 'submit', '--agent', 'support', '--input', 'hi'],
      env,
      run.t,
    );
    expect(code).toBe(0);
    expect(run.out[0]).toMatch(/^submitted task /);
    // Only the planner's store is there, no planner process: the CLI says so.
    expect(run.err).toEqual([expect.stringContaining('no planner is consuming')]);
  });

  it("names the approvals service's store when it is not there", async () => {
    const run = recordingTerminal();
    expect(await runCli(['approvals', 'list'], env, run.t)).toBe(1);
    expect(run.err.join('\n')).toContain(
      `${join(dir, 'stores', 'approvals.db')} does not exist: is Leash running with the same LEASH_STORE_DIR (the approvals service's store)`,
    );
  });
});
