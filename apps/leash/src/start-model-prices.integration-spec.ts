import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from './e2e/support/processes';

/*
 * A model the price table does not list would make every task end
 * limit_exceeded, one model call in. The launcher refuses to start instead,
 * saying which variable to set and how.
 */
describe('the launcher with a model that has no price', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-prices-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start, naming LEASH_MODEL_PRICES and its format', async () => {
    const started = launch('apps/leash/src/start.ts', {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LEASH_DEMO: 'false',
      LEASH_MODEL: 'openai',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      LEASH_MODEL_NAME: 'my-local-model',
      LEASH_HTTP_PORT: '0',
      NO_COLOR: '1',
    });
    // It should refuse at once; one still running after 30 s is killed, and fails below.
    const deadline = setTimeout(() => started.child.kill('SIGKILL'), 30_000);
    const code = await started.exited;
    clearTimeout(deadline);
    const output = started.output();

    expect(output).not.toContain('Leash is up');
    expect(code).toBe(1);
    expect(output).toContain('LEASH_MODEL_PRICES');
    expect(output).toContain('my-local-model');
    expect(output).toMatch(/model=input\/output/);
    // A configuration mistake, said plainly: no stack trace.
    expect(output).not.toMatch(/\n\s+at |ExceptionHandler|"stack"/);
  });
});
