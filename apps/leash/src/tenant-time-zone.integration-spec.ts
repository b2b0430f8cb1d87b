import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig } from '@leash/config';
import type { AnyEnvelope } from '@leash/contracts';
import { openEngines } from '@leash/engines';
import { waitFor } from '@leash/testing';
import { runCli } from './cli';
import { recordingTerminal } from './cli/testing/recording-terminal';

/* `leash tenant time-zone`: the operator's change reaches the budget's settings and its audit event. */
describe('leash tenant time-zone', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-tenant-'));
    env = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_STORE_FILE: join(dir, 'store.db') };
    // The files exist, as they do when Leash runs.
    await (await openEngines(loadConfig(BASE_ENV, { env }), { source: 'spec' })).close();
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the pending change with its operator and publishes it for the audit', async () => {
    const first = recordingTerminal();
    const argv = ['tenant', 'time-zone', 'acme', 'Etc/GMT+12', '--by', 'ops@acme.example'];
    expect(await runCli(argv, env, first.t)).toBe(0);
    expect(first.err).toEqual([]);
    expect(first.out[0]).toMatch(
      /^tenant acme: days start in Etc\/GMT\+12 from \S+; until then day \d{4}-\d\d-\d\d \(UTC\) keeps counting\. Changed by ops@acme\.example\.$/,
    );

    // With its relay: whatever the CLI left in the outbox is published, and read back from the topic.
    const engines = await openEngines(loadConfig(BASE_ENV, { env }), { source: 'spec' });
    try {
      // Imported as the CLI does, lazily (a static import would defeat its lazy load).
      const { TenantSettings } = await import('@leash/service-budget');
      const settings = await engines.store.repository(TenantSettings).get('acme');
      expect(settings?.doc).toMatchObject({
        timeZone: 'Etc/GMT+12',
        previousTimeZone: 'UTC',
        changedBy: 'ops@acme.example',
      });
      const seen: AnyEnvelope[] = [];
      const subscription = await engines.bus.subscribe(
        'spec-reader',
        ['budget.alarms'],
        async (delivery) => void seen.push(delivery.event),
        { fromBeginning: true },
      );
      try {
        await waitFor(() => seen.length > 0, { description: 'the change on budget.alarms' });
      } finally {
        await subscription.close();
      }
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        type: 'leash.budget.time_zone_changed.v1',
        source: 'leash-cli',
        tenantId: 'acme',
        data: { from: 'UTC', to: 'Etc/GMT+12', changedBy: 'ops@acme.example' },
      });
    } finally {
      await engines.close();
    }

    const again = recordingTerminal();
    expect(await runCli(argv, env, again.t)).toBe(0);
    expect(again.out[0]).toContain('already on Etc/GMT+12');

    const bad = recordingTerminal();
    expect(await runCli(['tenant', 'time-zone', 'acme', 'Mars/Base'], env, bad.t)).toBe(2);
    expect(bad.err[0]).toContain('"Mars/Base" is not an IANA time zone');
  });
});
