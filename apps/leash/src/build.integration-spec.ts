import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGateKey } from '@leash/signing';
import { waitFor } from '@leash/testing';
import { ROOT } from './e2e/support/processes';
import { freePort } from './distributed/local-cluster';

/*
 * `npm run build` compiles the workspace to JavaScript that runs on plain
 * node: the CLI answers as the TypeScript one does, and a compiled service
 * boots to ready. Built into a temp directory, so dist/ is left alone.
 */
describe('the production build', () => {
  let out: string;
  let data: string;

  beforeAll(() => {
    // Inside the repository (tmp/ is git-ignored): the compiled code finds node_modules from there.
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    out = mkdtempSync(join(ROOT, 'tmp', 'build-'));
    data = mkdtempSync(join(tmpdir(), 'leash-build-data-'));
    execFileSync(process.execPath, ['tools/build/build.js', out], { cwd: ROOT, stdio: 'pipe' });
  }, 120_000);

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  const compiled = (script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    spawn(process.execPath, ['-r', './tools/build/register.js', join(out, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, LEASH_DIST: out, OTEL_SDK_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('the compiled CLI prints what the TypeScript one prints for help and for a usage error', () => {
    const run = (args: string[], file: string, register: string, env: NodeJS.ProcessEnv) => {
      try {
        return execFileSync(process.execPath, ['-r', register, file, ...args], {
          cwd: ROOT,
          env: { ...process.env, ...env },
          stdio: 'pipe',
        }).toString();
      } catch (error) {
        const failed = error as { status: number; stderr: Buffer };
        return `exit ${failed.status}: ${failed.stderr.toString()}`;
      }
    };
    for (const args of [['--help'], ['help', 'kill'], ['kill', '--all']]) {
      const built = run(args, join(out, 'apps/leash/src/bin.js'), './tools/build/register.js', {
        LEASH_DIST: out,
      });
      const source = run(args, 'apps/leash/src/bin.ts', '@swc-node/register', {});
      expect({ args, built }).toEqual({ args, built: source });
    }
  }, 60_000);

  it('needs no dev dependency at run time: every package the compiled code loads is a dependency', () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const missing = new Set<string>();
    for (const file of readdirSync(out, { recursive: true }).map(String)) {
      if (!file.endsWith('.js')) continue;
      const code = readFileSync(join(out, file), 'utf8');
      for (const [, specifier] of code.matchAll(/(?:require|import)\("([^"]+)"\)/g)) {
        if (/^(\.|node:|@leash\/)/.test(specifier!) || builtinModules.includes(specifier!))
          continue;
        const parts = specifier!.split('/');
        const name = specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
        if (!(name in dependencies)) missing.add(`${name} (${file})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('a compiled service boots on the embedded engines and reports ready', async () => {
    const port = await freePort();
    const { signingKey } = generateGateKey('policy-build-test');
    const child = compiled('services/policy/src/main.js', [], {
      LEASH_BUS_FILE: join(data, 'bus.db'),
      LEASH_STORE_FILE: join(data, 'policy.db'),
      LEASH_POLICY_SIGNING_KEY: `${signingKey.id}:${signingKey.privateKey}`,
      LEASH_HTTP_PORT: String(port),
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', done));
    try {
      await waitFor(
        async () =>
          child.exitCode !== null ||
          (await fetch(`http://127.0.0.1:${port}/health/ready`).then(
            (r) => r.status === 200,
            () => false,
          )),
        {
          timeoutMs: 30_000,
          description: `the compiled policy service ready; its output:\n${output}`,
        },
      );
      expect(child.exitCode).toBeNull();
      expect(output).toContain('listening as group policy');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
