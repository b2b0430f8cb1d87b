import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

/** What each service started alone needs, and must be told it lacks. */
const NEEDS: Record<string, readonly string[]> = {
  policy: ['LEASH_POLICY_SIGNING_KEY'],
  budget: ['LEASH_BUDGET_SIGNING_KEY', 'LEASH_POLICY_PUBLIC_KEYS', 'LEASH_APPROVALS_PUBLIC_KEYS'],
  approvals: [
    'LEASH_APPROVALS_SIGNING_KEY',
    'LEASH_POLICY_PUBLIC_KEYS',
    'LEASH_BUDGET_PUBLIC_KEYS',
  ],
  executor: ['LEASH_POLICY_PUBLIC_KEYS', 'LEASH_BUDGET_PUBLIC_KEYS', 'LEASH_APPROVALS_PUBLIC_KEYS'],
};

function run(service: string, dir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env))
      if (/_(SIGNING_KEY|PUBLIC_KEYS)/.test(name)) delete env[name];
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', `services/${service}/src/main.ts`],
      {
        cwd: ROOT,
        env: {
          ...env,
          LEASH_BUS_FILE: join(dir, `${service}-bus.db`),
          LEASH_STORE_FILE: join(dir, `${service}-store.db`),
          OTEL_SDK_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, output }));
  });
}

/*
 * A service started on its own (a distributed deployment) generates no key:
 * without its keys it stops at start-up, naming each one it lacks.
 */
describe('a service started alone without its keys', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'leash-service-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(Object.keys(NEEDS))(
    '%s stops, naming what it lacks',
    async (service) => {
      const { code, output } = await run(service, dir);
      expect(code).toBe(1);
      expect(output).toContain(`Invalid configuration of ${service}`);
      for (const name of NEEDS[service]!) {
        expect(output).toContain(`${name} (or ${name}_FILE) is required`);
      }
      // It asks for nothing it has no use for.
      const others = Object.values(NEEDS)
        .flat()
        .filter((name) => !NEEDS[service]!.includes(name));
      for (const name of others) expect(output).not.toContain(`${name} (or`);
    },
    60_000,
  );
});
