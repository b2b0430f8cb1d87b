import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { BASE_ENV, loadConfig } from '@leash/config';
import { createEnvelope, type AnyEnvelope } from '@leash/contracts';
import { waitFor } from '@leash/testing';
import { openEngines } from './open-engines';
import { startService } from './start-service';

describe('openEngines on the embedded engines', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-engines-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function env() {
    return {
      LEASH_BUS_FILE: join(dir, 'nested', 'bus', 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'nested', 'store', 'store.db'),
      LEASH_PARTITIONS: '2',
    };
  }

  it('creates the directories, carries events, pings both engines, and closes once', async () => {
    const engines = await openEngines(loadConfig(BASE_ENV, { env: env() }), { source: 'test' });
    expect(existsSync(join(dir, 'nested', 'bus', 'bus.db'))).toBe(true);
    expect(existsSync(join(dir, 'nested', 'store', 'store.db'))).toBe(true);
    expect(engines.location.bus).toContain(join(dir, 'nested', 'bus', 'bus.db'));
    await expect(engines.bus.ping()).resolves.toBeUndefined();
    await expect(engines.store.ping()).resolves.toBeUndefined();

    const seen: AnyEnvelope[] = [];
    await engines.bus.subscribe('test', ['control'], async (delivery) => {
      seen.push(delivery.event);
    });
    const resume = createEnvelope(
      'leash.control.resume.v1',
      {
        commandId: 'c1',
        scope: { kind: 'all' },
        reason: 'test',
        issuedBy: 'tester',
        issuedAt: new Date().toISOString(),
      },
      { source: 'test' },
    );
    await engines.bus.publish('control', resume);
    await waitFor(() => seen.some((e) => e.id === resume.id), {
      description: 'the event back from the embedded bus',
    });

    await Promise.all([engines.close(), engines.close()]);
  });

  it('closes the engines it opened when the service fails to start', async () => {
    @Controller()
    class Typo {
      @EventPattern<string>('control.kill')
      on(): void {}
    }
    @Module({ controllers: [Typo] })
    class BrokenModule {}

    await expect(
      startService(
        {
          name: 'policy',
          env: BASE_ENV,
          module: BrokenModule,
        },
        { env: env(), logger: false },
      ),
    ).rejects.toThrow('@EventPattern names no topic: "control.kill"');

    // Reopening proves the failed start released the files.
    const engines = await openEngines(loadConfig(BASE_ENV, { env: env() }), { source: 'test' });
    await engines.close();
  });
});
