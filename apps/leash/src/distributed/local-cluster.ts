import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Environment } from '@leash/config';
import type { ProcessName } from '@leash/engines';
import {
  SIGNING_GATES,
  keepGateKeyFiles,
  type GateKeyFiles,
  KEY_HOLDERS,
  type KeyHolder,
} from '@leash/signing';
import { waitFor } from '@leash/testing';

const ROOT = resolve(__dirname, '../../../..');

/** Every process of a distributed Leash, in the order they start. */
export const CLUSTER_PROCESSES: readonly ProcessName[] = [
  'policy',
  'budget',
  'approvals',
  'executor',
  'planner',
  'audit',
];

export interface LocalClusterOptions {
  /** Kafka bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Stores, gate keys and logs go here; kept across starts, so a restart keeps its state and keys. */
  readonly dataDir: string;
  /** Put before every topic name; a fresh one gives a run topics of its own on a shared broker. */
  readonly topicPrefix?: string;
  readonly partitions?: number;
  /** Extra environment for every process (LOG_LEVEL, LEASH_MODEL, ...), over the parent's. */
  readonly env?: Environment;
  /** Extra environment for one kind of process, e.g. LEASH_REVIEWERS for approvals. */
  readonly envOf?: Partial<Record<ProcessName, Environment>>;
  /** How long a process may take to report ready. Default 90 s. */
  readonly readyTimeoutMs?: number;
}

/** One OS process of the cluster. */
export interface ClusterProcess {
  readonly name: ProcessName;
  /** `<name>-<instance>`: its instance id, and the name of its log file. */
  readonly id: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** The last lines it wrote, for error messages. */
  tail(): string[];
}

/**
 * Leash as it is deployed: each service, and the audit recorder, in its own
 * OS process, on Kafka, each with a store of its own (LEASH_STORE_DIR) and
 * only its own signing key. Each gate's key pair is made once and kept in
 * `<dataDir>/keys` (mode 0600), as mounted secrets would be: the private key
 * goes to its gate alone, the public keys to every process that checks them.
 */
export class LocalCluster {
  private readonly processes = new Map<string, ClusterProcess>();
  private readonly topicPrefix: string;
  private readonly keys: Readonly<Record<KeyHolder, GateKeyFiles>>;

  constructor(private readonly options: LocalClusterOptions) {
    this.topicPrefix = options.topicPrefix ?? 'leash.';
    mkdirSync(join(options.dataDir, 'logs'), { recursive: true });
    this.keys = keptGateKeys(join(options.dataDir, 'keys'));
  }

  /**
   * The environment a client (the CLI, an upstream system, a spec) uses to
   * reach this cluster: the bus, the topics, the services' stores, and the
   * operators' key that signs releases (which no service gets).
   */
  clientEnv(): Environment {
    return {
      ...this.busEnv(),
      LEASH_OPERATOR_SIGNING_KEY_FILE: this.keys.operator.privateFile,
    };
  }

  /** What every process shares: the bus, the topics, and the services' stores. */
  private busEnv(): Environment {
    return {
      LEASH_BUS: 'kafka',
      KAFKA_BROKERS: this.options.brokers.join(','),
      LEASH_TOPIC_PREFIX: this.topicPrefix,
      LEASH_PARTITIONS: String(this.options.partitions ?? 8),
      LEASH_STORE_DIR: join(this.options.dataDir, 'stores'),
    };
  }

  /** Starts every process at once and resolves when all of them report ready. */
  async start(): Promise<void> {
    try {
      await Promise.all(CLUSTER_PROCESSES.map((name) => this.startProcess(name)));
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Starts one instance of a process; resolves once its /health/ready answers 200.
   * `env` is extra environment for this instance alone.
   */
  async startProcess(
    name: ProcessName,
    instance = 1,
    env: Environment = {},
  ): Promise<ClusterProcess> {
    const id = `${name}-${instance}`;
    if (this.processes.has(id)) throw new Error(`${id} is already running`);
    const port = await freePort();
    const childEnv: NodeJS.ProcessEnv = {
      ...withoutKeys(process.env),
      ...this.options.env,
      ...this.busEnv(),
      ...this.keyEnv(name),
      ...this.options.envOf?.[name],
      ...env,
      LEASH_INSTANCE_ID: id,
      KAFKA_CLIENT_ID: `leash-${name}`,
      LEASH_HTTP_PORT: String(port),
    };
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', `services/${name}/src/main.ts`],
      // A process group of its own: a Ctrl-C at the launcher's terminal reaches the launcher
      // alone, which stops each process once (a second signal would skip its drain).
      { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    keepAlongside(child);
    const lines: string[] = [];
    const log = createWriteStream(join(this.options.dataDir, 'logs', `${id}.log`), { flags: 'a' });
    const keep = (chunk: Buffer) => {
      log.write(chunk);
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<number | NodeJS.Signals>((done) =>
      child.on('exit', (code, signal) => {
        log.end();
        done(code ?? signal ?? 1);
      }),
    );
    const running: ClusterProcess = { name, id, port, child, exited, tail: () => lines.slice(-20) };
    this.processes.set(id, running);
    exited.then(() => {
      if (this.processes.get(id) === running) this.processes.delete(id);
    });

    let ended: number | NodeJS.Signals | undefined;
    void exited.then((code) => (ended = code));
    try {
      await waitFor(
        async () => {
          if (ended !== undefined) return true;
          return (await readiness(port)) === 200;
        },
        {
          timeoutMs: this.options.readyTimeoutMs ?? 90_000,
          intervalMs: 100,
          description: `${id} to be ready on port ${port}`,
        },
      );
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(
        `${(error as Error).message}\n${id}'s last lines:\n${lines.slice(-20).join('\n')}`,
      );
    }
    if (ended !== undefined) {
      throw new Error(
        `${id} exited (${ended}) before it was ready; its last lines:\n${lines.slice(-20).join('\n')}`,
      );
    }
    return running;
  }

  /** The running processes, by id. */
  running(): readonly ClusterProcess[] {
    return [...this.processes.values()];
  }

  /** Sends a signal to one process and waits until it has ended. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals> {
    const running = this.processes.get(id);
    if (!running) throw new Error(`${id} is not running`);
    running.child.kill(signal);
    return running.exited;
  }

  /** Stops every process (SIGTERM: each drains its consumers), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.processes.values()].map(async (running) => {
        running.child.kill('SIGTERM');
        const timer = setTimeout(() => running.child.kill('SIGKILL'), 20_000);
        await running.exited;
        clearTimeout(timer);
      }),
    );
  }

  /**
   * A gate gets its own private key; every process the public keys it checks,
   * and the operators' public key, which every release must be signed with.
   */
  private keyEnv(name: ProcessName): Environment {
    const env: Record<string, string> = {
      LEASH_OPERATOR_PUBLIC_KEYS_FILE: this.keys.operator.publicFile,
    };
    for (const gate of SIGNING_GATES) {
      const upper = `LEASH_${gate.toUpperCase()}`;
      if (gate === name) env[`${upper}_SIGNING_KEY_FILE`] = this.keys[gate].privateFile;
      else env[`${upper}_PUBLIC_KEYS_FILE`] = this.keys[gate].publicFile;
    }
    return env;
  }
}

const CHILDREN = new Set<ChildProcess>();

/** A child is never left behind by a launcher (or a test run) that exits. */
function keepAlongside(child: ChildProcess): void {
  if (CHILDREN.size === 0 && process.listeners('exit').every((l) => l !== killChildren)) {
    process.on('exit', killChildren);
  }
  CHILDREN.add(child);
  child.once('exit', () => CHILDREN.delete(child));
}

function killChildren(): void {
  for (const child of CHILDREN) child.kill('SIGKILL');
}

/** Each gate's key pair, and the operators', in `dir`, made on first use. */
function keptGateKeys(dir: string): Record<KeyHolder, GateKeyFiles> {
  const files = {} as Record<KeyHolder, GateKeyFiles>;
  for (const holder of KEY_HOLDERS) files[holder] = keepGateKeyFiles(holder, { keyDir: dir });
  return files;
}

/** The parent's environment without any gate key: each process gets only its own. */
function withoutKeys(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of Object.keys(copy)) {
    if (/^LEASH_\w+_(SIGNING_KEY|PUBLIC_KEYS)(_FILE)?$/.test(name)) delete copy[name];
  }
  return copy;
}

async function readiness(port: number): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status;
  } catch {
    return undefined;
  }
}

/** A port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
