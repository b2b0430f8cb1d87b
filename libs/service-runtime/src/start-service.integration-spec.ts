import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import { BASE_ENV, loadConfig } from '@leash/config';
import { openEngines } from '@leash/engines';
import { startService } from './start-service';

describe('startService on the embedded engines', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-runtime-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function env() {
    return {
      LEASH_BUS_FILE: join(dir, 'nested', 'bus', 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'nested', 'store', 'store.db'),
      LEASH_PARTITIONS: '2',
    };
  }

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
