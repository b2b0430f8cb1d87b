import type { Admin } from 'kafkajs';
import type { TopicSpec } from '@leash/bus';
import { isSettling } from './kafka-errors';

/** A topic that exists with fewer partitions than configured: ordering holds, parallelism does not. */
export interface TopicShortfall {
  readonly topic: string;
  readonly partitions: number;
  readonly configured: number;
}

export interface TopicProvisionerOptions {
  /** -1: the broker's default.replication.factor. */
  readonly replicationFactor: number;
  /** Told once per topic that exists with fewer partitions than configured. */
  readonly onShortfall: (shortfall: TopicShortfall) => void;
  /** How long a topic another process is creating may take to have a leader on every partition. Default 30 s. */
  readonly settleTimeoutMs?: number;
}

/**
 * Creates topics (dead-letter topics are passed in like any other) with their
 * partitions and replication factor. Idempotent: a topic that exists is left
 * as it is, but a shortfall in partitions is reported, never silently used.
 *
 * Several processes start together and provision the same topics. A topic is
 * listed as soon as one of them creates it, before its partitions have
 * leaders; a consumer or producer that used it then would fail ("This server
 * does not host this topic-partition"). So `ensure` returns only once every
 * partition of every topic it was given has a leader, whoever created it.
 */
export class TopicProvisioner {
  private readonly known = new Set<string>();

  constructor(
    private readonly admin: () => Promise<Admin>,
    private readonly options: TopicProvisionerOptions,
  ) {}

  async ensure(topics: readonly TopicSpec[]): Promise<void> {
    const wanted = topics.filter((topic) => !this.known.has(topic.name));
    if (wanted.length === 0) return;
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((topic) => !existing.has(topic.name));
    if (missing.length > 0) {
      try {
        // Leaders are waited for below, for the topics others created too: kafkajs's own wait
        // gives up on UNKNOWN_TOPIC_OR_PARTITION, which a broker answers while it settles.
        await admin.createTopics({
          waitForLeaders: false,
          topics: missing.map((topic) => ({
            topic: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: this.options.replicationFactor,
            ...(topic.keepForever
              ? { configEntries: [{ name: 'retention.ms', value: '-1' }] }
              : {}),
          })),
        });
      } catch (error) {
        // Another process may have created them in between; anything else is real.
        if (!isTopicExists(error)) throw error;
      }
    }
    const partitions = await this.untilLed(
      admin,
      wanted.map((topic) => topic.name),
    );
    for (const topic of wanted) {
      const found = partitions.get(topic.name) ?? 0;
      if (existing.has(topic.name) && found < topic.partitions) {
        this.options.onShortfall({
          topic: topic.name,
          partitions: found,
          configured: topic.partitions,
        });
      }
    }
    for (const topic of wanted) this.known.add(topic.name);
  }

  /** Each topic's partition count, once every partition of each has a leader. */
  private async untilLed(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
    const deadline = Date.now() + (this.options.settleTimeoutMs ?? 30_000);
    for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 1_000)) {
      let waitingFor: string;
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
        const leaderless = metadata.topics.find(
          (topic) => topic.partitions.length === 0 || topic.partitions.some((p) => p.leader < 0),
        );
        if (!leaderless) {
          return new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
        }
        waitingFor = `topic ${leaderless.name} has a partition without a leader`;
      } catch (error) {
        if (!isSettling(error)) throw error;
        waitingFor = (error as Error).message;
      }
      if (Date.now() + delayMs > deadline) {
        throw new Error(
          `topics are not ready after ${this.options.settleTimeoutMs ?? 30_000} ms: ${waitingFor}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function isTopicExists(error: unknown): boolean {
  const { type, errors } = error as { type?: string; errors?: { type?: string }[] };
  if (type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(errors) && errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS');
}
