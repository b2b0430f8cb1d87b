import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE_ENV, loadConfig, type Environment } from '@leash/config';
import { openEngines, type Engines } from '@leash/engines';
import { ScenarioDriver, reviewerDirectory } from '../eval/leash-under-test';
import { CLUSTER_PROCESSES, LocalCluster } from './local-cluster';

export interface ClusterUnderTestOptions {
  readonly brokers: readonly string[];
  /** Tenants to seed reviewers in. */
  readonly tenants: readonly string[];
  /** A topic prefix of the run's own, so a shared broker's earlier records are not read. */
  readonly topicPrefix: string;
  readonly partitions?: number;
  /**
   * Processes of each kind (every service and the audit recorder; default 1).
   * Each kind's instances form one consumer group and split its partitions.
   */
  readonly instances?: number;
  /** Extra environment for every process. */
  readonly env?: Environment;
  /** Run the in-process reviewers (default true). */
  readonly reviewers?: boolean;
}

/**
 * The services as separate OS processes on Kafka (LocalCluster), driven as
 * the golden set and the e2e specs drive the launcher: this process
 * publishes tasks and observes them over the broker, runs the reviewers, and
 * reads the executor's backends from the executor's own store.
 */
export class ClusterUnderTest extends ScenarioDriver {
  private constructor(
    readonly cluster: LocalCluster,
    private readonly client: Engines,
    private readonly dir: string,
  ) {
    super(client.bus, client.store);
  }

  static async start(options: ClusterUnderTestOptions): Promise<ClusterUnderTest> {
    const dir = mkdtempSync(join(tmpdir(), 'leash-cluster-'));
    const cluster = new LocalCluster({
      brokers: options.brokers,
      dataDir: dir,
      topicPrefix: options.topicPrefix,
      ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
      env: { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', ...options.env },
      envOf: { approvals: { LEASH_REVIEWERS: JSON.stringify(reviewerDirectory(options.tenants)) } },
    });
    let client: Engines | undefined;
    try {
      await cluster.start();
      for (let instance = 2; instance <= (options.instances ?? 1); instance++) {
        await Promise.all(CLUSTER_PROCESSES.map((name) => cluster.startProcess(name, instance)));
      }
      // The executor's store, shared with the executor process as its instances share it.
      client = await openEngines(loadConfig(BASE_ENV, { env: cluster.clientEnv() }), {
        source: 'e2e',
        owner: 'executor',
        relayOutbox: false,
      });
    } catch (error) {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const harness = new ClusterUnderTest(cluster, client, dir);
    await harness.attach(options.reviewers !== false);
    return harness;
  }

  /**
   * The last lines of each process's log: what a spec prints when the cluster
   * did not do what it expected (the logs are deleted with the cluster).
   */
  logTails(lines = 40): string {
    const logs = join(this.dir, 'logs');
    if (!existsSync(logs)) return '';
    return readdirSync(logs)
      .sort()
      .map((file) => {
        const text = readFileSync(join(logs, file), 'utf8').trimEnd().split('\n');
        return `--- ${file} (last ${Math.min(lines, text.length)} of ${text.length} lines)\n${text.slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  protected async stopSystem(): Promise<void> {
    try {
      await this.client.close();
      await this.cluster.stop();
    } finally {
      // LEASH_KEEP_CLUSTER=1 keeps the processes' logs and stores for a look afterwards.
      if (!process.env.LEASH_KEEP_CLUSTER) rmSync(this.dir, { recursive: true, force: true });
      else process.stderr.write(`the cluster's logs and stores are kept in ${this.dir}\n`);
    }
  }
}
