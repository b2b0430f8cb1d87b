import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor, type WaitForOptions } from '@leash/testing';

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

/** How a child process ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process running, its output gathered. */
export interface Launched {
  readonly child: ChildProcess;
  /** Everything it has written so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with its exit code once it has ended. */
  readonly exited: Promise<number | null>;
  /** Resolves with its exit code and signal once it has ended. */
  readonly ended: Promise<Exit>;
  /**
   * Waits until its output contains `expected`, or it has ended (the caller's
   * assertions on the output then say why); fails after the deadline of
   * `options`. Resolves with the output so far.
   */
  waitForOutput(expected: string | RegExp, options?: WaitForOptions): Promise<string>;
  /**
   * For teardown: `signal` (SIGINT unless said, as Ctrl-C would, so that it
   * stops what it started: start:kafka's six detached processes) if it still
   * runs, SIGKILL after 30 s; resolves once it has ended.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface LaunchOptions {
  /** Arguments after the script. */
  readonly args?: readonly string[];
}

/** Starts `command` with `args` in `cwd` (the root unless said) and `env`, gathering its output. */
export function startProcess(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string = ROOT,
): Launched {
  let output = '';
  let over = false;
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise<Exit>((done) =>
    child.on('exit', (code, signal) => {
      over = true;
      done({ code, signal });
    }),
  );
  return {
    child,
    output: () => output,
    exited: ended.then(({ code }) => code),
    ended,
    async waitForOutput(expected, options) {
      const found = () =>
        typeof expected === 'string' ? output.includes(expected) : output.search(expected) !== -1;
      await waitFor(() => found() || over, options);
      return output;
    },
    async stop(signal = 'SIGINT') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const stuck = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await ended;
      clearTimeout(stuck);
    },
  };
}

/**
 * Starts a TypeScript entry point (relative to the root: `npm start`'s
 * apps/leash/src/start.ts, `npm run start:kafka`'s, the CLI's) as `npm` would,
 * with `env`.
 */
export function launch(
  script: string,
  env: NodeJS.ProcessEnv,
  options: LaunchOptions = {},
): Launched {
  return startProcess(
    process.execPath,
    ['-r', '@swc-node/register', script, ...(options.args ?? [])],
    env,
  );
}
