import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferenceScenario } from '@leash/agents';
import type { Bus, Subscription } from '@leash/bus';
import { runApprovalConsumer, TASK_TOPICS, type ApprovalConsumer } from '@leash/client';
import type { Environment } from '@leash/config';
import type { AnyEnvelope, TaskFinishedV1, TopicName } from '@leash/contracts';
import { scenarioTask } from '@leash/service-planner';
import { generateVerdictKeyPair } from '@leash/signing';
import type { Store } from '@leash/store';
import { waitFor } from '@leash/testing';
import { REFERENCE_REVIEWER_GROUPS } from '../demo/demo-reviewers';
import { applyFixtures } from '../demo/scenario-fixtures';
import { startLeash, type LaunchOverrides, type Leash } from '../start';

/*
 * The whole system as the golden set, the e2e specs and the demo drive it:
 * the launcher (`startLeash`, the five services on shared embedded engines),
 * a reviewer directory for the tenants used, the scenarios' fixtures, two
 * in-process reviewers who answer as each scenario's `expect.reviews` says,
 * and an observer that records every event of every task.
 */

/** The two reviewers in every tenant the harness seeds: two, so a quorum of two can be met. */
export const TEST_REVIEWERS = ['reviewer-a@leash.test', 'reviewer-b@leash.test'] as const;

/**
 * Each test reviewer's key pair, made once per test process: the directory
 * (reviewerDirectory) holds the public keys, the in-process reviewers sign
 * with the private ones.
 */
export const TEST_REVIEWER_KEYS: Readonly<
  Record<string, ReturnType<typeof generateVerdictKeyPair>>
> = Object.fromEntries(TEST_REVIEWERS.map((reviewer) => [reviewer, generateVerdictKeyPair()]));

/** The private key (PEM) a test reviewer signs with. */
export function testReviewerKey(reviewer: string): string {
  const pair = TEST_REVIEWER_KEYS[reviewer];
  if (!pair) throw new Error(`${reviewer} is not a test reviewer`);
  return pair.privateKeyPem;
}

/** One approval request of a task, and how the in-test reviewers answered it. */
export interface AskedApproval {
  readonly approvalId: string;
  readonly tool: string;
  readonly group: string;
  readonly reviewersRequired: number;
  /** undefined: the scenario does not expect this tool to reach a person. */
  readonly expected: 'approve' | 'reject' | undefined;
}

/** What happened to one submitted task, read off the bus. */
export interface TaskRecord {
  readonly scenario: ReferenceScenario;
  readonly taskId: string;
  readonly tenantId: string;
  readonly submittedAt: number;
  finishedAt?: number;
  finished?: TaskFinishedV1;
  readonly events: AnyEnvelope[];
  readonly approvals: AskedApproval[];
}

export interface LeashUnderTestOptions {
  /** Tenants to seed reviewers in. */
  readonly tenants: readonly string[];
  /** Engine files go here; default a new temp directory, removed by stop(). */
  readonly dir?: string;
  /** Extra environment (over process.env). */
  readonly env?: Environment;
  /** Run the in-process reviewers (default true). */
  readonly reviewers?: boolean;
  /**
   * Start from this process's environment (default true). False: from `env`
   * alone, so the system under test is embedded and self-contained whatever
   * the caller runs on (a CLI pointed at Kafka, with production keys).
   */
  readonly inheritEnv?: boolean;
  /** What the launcher changes in the services (counterfactual replay's model and tools). */
  readonly launch?: LaunchOverrides;
}

/**
 * The reviewer directory entries for `tenants`: the test reviewers in every
 * reference group (or in `groups`), each with their public key.
 */
export function reviewerDirectory(
  tenants: readonly string[],
  reviewers: readonly string[] = TEST_REVIEWERS,
  groups: readonly string[] = REFERENCE_REVIEWER_GROUPS,
): object[] {
  return tenants.flatMap((tenantId) =>
    reviewers.map((reviewer) => ({
      tenantId,
      reviewer,
      groups: [...groups],
      ...(TEST_REVIEWER_KEYS[reviewer]
        ? { keys: [{ publicKey: TEST_REVIEWER_KEYS[reviewer].publicKey }] }
        : {}),
    })),
  );
}

/**
 * What a scenario run needs of a system under test, whatever its shape: the
 * bus to publish tasks and observe them on, and the store where the
 * executor's (simulated) backends keep what the tools did. The in-process
 * launcher (LeashUnderTest) and the services as processes on Kafka
 * (ClusterUnderTest) both drive scenarios through this.
 */
export abstract class ScenarioDriver {
  private readonly tasks = new Map<string, TaskRecord>();
  private counter = 0;
  /** Events of submitted tasks observed so far: how far a run has got. */
  observed = 0;
  protected readonly closers: (() => Promise<void>)[] = [];

  protected constructor(
    /** The bus the system runs on. */
    readonly bus: Bus,
    /** The store of the executor's backends: fixtures go in, the checks read what tools did. */
    readonly backends: Store,
  ) {}

  /** Observes every task topic, and runs the in-process reviewers unless told not to. */
  protected async attach(reviewers: boolean): Promise<void> {
    try {
      await this.observe();
      if (reviewers) await this.runReviewers();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Applies the scenario's fixtures, then publishes its task; returns the task id. */
  async submit(
    scenario: ReferenceScenario,
    options: { readonly tenantId: string; readonly taskId?: string },
  ): Promise<string> {
    await applyFixtures(this.backends, [scenario.fixtures]);
    this.counter += 1;
    const taskId = options.taskId ?? `${scenario.id}-${this.counter}`;
    const event = scenarioTask(scenario, { tenantId: options.tenantId, taskId, source: 'e2e' });
    this.tasks.set(taskId, {
      scenario,
      taskId,
      tenantId: options.tenantId,
      submittedAt: performance.now(),
      events: [],
      approvals: [],
    });
    await this.bus.publish('tasks.requested', event);
    return taskId;
  }

  record(taskId: string): TaskRecord {
    const record = this.tasks.get(taskId);
    if (!record) throw new Error(`task ${taskId} was not submitted here`);
    return record;
  }

  /** Waits until every task has finished; returns their records in the order given. */
  async finished(taskIds: readonly string[], timeoutMs = 60_000): Promise<TaskRecord[]> {
    await waitFor(() => taskIds.every((id) => this.record(id).finished), {
      timeoutMs,
      intervalMs: 5,
      description: `tasks to finish: ${taskIds.filter((id) => !this.record(id).finished).join(', ')}`,
    });
    return taskIds.map((id) => this.record(id));
  }

  /** Closes the observer and the reviewers, then the system itself. */
  async stop(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
    await this.stopSystem();
  }

  protected abstract stopSystem(): Promise<void>;

  private async observe(): Promise<void> {
    const topics: TopicName[] = [...TASK_TOPICS];
    const subscription: Subscription = await this.bus.subscribe(
      `e2e-observer-${process.pid}-${randomUUID().slice(0, 8)}`,
      topics,
      async ({ event }) => {
        const record = event.taskId ? this.tasks.get(event.taskId) : undefined;
        if (!record) return;
        record.events.push(event);
        this.observed += 1;
        if (event.type === 'leash.tasks.finished.v1' && !record.finished) {
          record.finished = event.data;
          record.finishedAt = performance.now();
        }
      },
      { fromBeginning: true },
    );
    this.closers.push(() => subscription.close());
  }

  /**
   * Two reviewers in every group. A approves or rejects as the scenario
   * says; B only adds the second approval a quorum of two needs, so no
   * verdict is sent that the service would refuse as already used.
   */
  private async runReviewers(): Promise<void> {
    const [first] = TEST_REVIEWERS;
    const consumers: ApprovalConsumer[] = [];
    for (const reviewer of TEST_REVIEWERS) {
      consumers.push(
        await runApprovalConsumer(this.bus, {
          reviewer,
          key: testReviewerKey(reviewer),
          source: 'e2e-reviewer',
          decide: async (request) => {
            const record = this.tasks.get(request.taskId);
            if (!record) return undefined;
            const expected = record.scenario.expect.reviews?.[request.tool];
            if (reviewer === first) {
              record.approvals.push({
                approvalId: request.approvalId,
                tool: request.tool,
                group: request.reviewerGroup,
                reviewersRequired: request.reviewersRequired,
                expected,
              });
            }
            if (expected === 'approve') {
              return reviewer === first || request.reviewersRequired > 1
                ? { verdict: 'approve', comment: 'as the scenario expects' }
                : undefined;
            }
            if (reviewer !== first) return undefined;
            // Not expected to reach a person at all: refuse, and the check reports it.
            return {
              verdict: 'reject',
              feedback:
                expected === 'reject'
                  ? 'Declined by the reviewer.'
                  : `The scenario does not expect ${request.tool} to need a person.`,
            };
          },
        }),
      );
    }
    this.closers.push(async () => {
      for (const consumer of consumers) await consumer.close();
    });
  }
}

/** The whole system in this process: the launcher (startLeash) on temp embedded engines. */
export class LeashUnderTest extends ScenarioDriver {
  private constructor(
    readonly leash: Leash,
    readonly dir: string,
    private readonly ownsDir: boolean,
  ) {
    super(leash.engines.bus, leash.engines.store);
  }

  static async start(options: LeashUnderTestOptions): Promise<LeashUnderTest> {
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'leash-under-test-'));
    const leash = await startLeash(
      {
        ...(options.inheritEnv === false ? {} : process.env),
        LOG_LEVEL: 'error',
        LEASH_DEMO: 'false',
        LEASH_BUS_FILE: join(dir, 'bus.db'),
        LEASH_STORE_FILE: join(dir, 'store.db'),
        LEASH_REVIEWERS: JSON.stringify(reviewerDirectory(options.tenants)),
        ...options.env,
      },
      options.launch,
    );
    const harness = new LeashUnderTest(leash, dir, ownsDir);
    await harness.attach(options.reviewers !== false);
    return harness;
  }

  /** The one store every service shares in one process. */
  get store(): Store {
    return this.leash.engines.store;
  }

  protected async stopSystem(): Promise<void> {
    await this.leash.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
