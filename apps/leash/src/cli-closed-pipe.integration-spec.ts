import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

/*
 * `leash audit X | head -1`: the reader goes away before the CLI is done
 * writing. Like any Unix tool, the CLI stops quietly, without a stack trace.
 */
describe('the leash CLI writing to a closed pipe', () => {
  it('stops quietly, with nothing on stderr', async () => {
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', 'apps/leash/src/cli.ts', 'help'],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The reader is gone before the first line is written.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolveExit) => child.on('close', resolveExit));

    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
