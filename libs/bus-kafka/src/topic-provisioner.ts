import type { Admin } from 'kafkajs';
import type { TopicSpec } from '@leash/bus';

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
}

/**
 * Creates topics (dead-letter topics are passed in like any other) with their
 * partitions and replication factor. Idempotent: a topic that exists is left
 * as it is, but a shortfall in partitions is reported, never silently used.
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
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic: topic.name,
            numPartitions: topic.partitions,
            replicationFactor: this.options.replicationFactor,
          })),
        });
      } catch (error) {
        // Another process may have created them in between; anything else is real.
        if (!isTopicExists(error)) throw error;
      }
    }
    const present = wanted.filter((topic) => existing.has(topic.name));
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      for (const topic of present) {
        const found = metadata.topics.find((t) => t.name === topic.name);
        const partitions = found?.partitions.length ?? 0;
        if (partitions < topic.partitions) {
          this.options.onShortfall({ topic: topic.name, partitions, configured: topic.partitions });
        }
      }
    }
    for (const topic of wanted) this.known.add(topic.name);
  }
}

function isTopicExists(error: unknown): boolean {
  const { type, errors } = error as { type?: string; errors?: { type?: string }[] };
  if (type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(errors) && errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS');
}
