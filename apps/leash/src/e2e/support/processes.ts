import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository's root, from which `npm start` and the launchers run. */
export const ROOT = resolve(__dirname, '../../../../..');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs bin/leash as an operator would from another terminal, in another directory. */
export function runLeash(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(join(ROOT, 'bin', 'leash'), args, {
      cwd: tmpdir(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A launcher (`npm start`, `npm run start:kafka`) running as a child, its output gathered. */
export interface Launched {
  readonly child: ChildProcess;
  /** Everything it has written so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with its exit code once it has ended. */
  readonly exited: Promise<number | null>;
  /**
   * For afterAll: SIGINT if it still runs, as Ctrl-C would, so it stops what it
   * started (start:kafka's six detached processes); SIGKILL after 30 s.
   */
  stop(): Promise<void>;
}

/** Starts a TypeScript entry point (relative to the root) as `npm` would, with `env`. */
export function launch(script: string, env: NodeJS.ProcessEnv): Launched {
  let output = '';
  const child = spawn(process.execPath, ['-r', '@swc-node/register', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', done));
  return {
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const stuck = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(stuck);
    },
  };
}
