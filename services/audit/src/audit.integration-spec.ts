import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEntries } from '@leash/audit';
import { LeashClient } from '@leash/client';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import { type RunningService } from '@leash/service-runtime';
import { waitFor } from '@leash/testing';
import { bootstrapAudit } from './audit.app';

/*
 * The audit recorder as a service of its own: its own store, consumer group
 * `audit`, ready on /health only once it records. What an upstream system
 * publishes on the shared bus lands in the audit's store, not the publisher's.
 */
describe('the audit service on its own store', () => {
  let dir: string;
  let service: RunningService;
  let upstream: Engines;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-audit-service-'));
    const bus = { LEASH_BUS_FILE: join(dir, 'bus.db'), LEASH_PARTITIONS: '2' };
    service = await bootstrapAudit({
      env: { ...bus, LEASH_STORE_FILE: join(dir, 'audit.db'), LEASH_HTTP_PORT: '0' },
      logger: false,
    });
    upstream = await openEngines(
      loadConfig(BASE_ENV, { env: { ...bus, LEASH_STORE_FILE: join(dir, 'upstream.db') } }),
      { source: 'spec', relayOutbox: false },
    );
  });

  afterAll(async () => {
    await upstream?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready, and records a submitted task in its own store', async () => {
    const ready = await fetch(`http://127.0.0.1:${service.http!.port}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toContain('audit');

    const client = new LeashClient({ bus: upstream.bus, source: 'spec' });
    const taskId = await client.submitTask({ tenantId: 'acme', agent: 'support', input: 'hi' });
    await waitFor(
      async () =>
        (await service.engines.store.repository(auditEntries).count({ where: { taskId } })) === 1,
      { description: 'the task in the audit service store' },
    );
    expect(await upstream.store.repository(auditEntries).count({ where: { taskId } })).toBe(0);
  });
});
