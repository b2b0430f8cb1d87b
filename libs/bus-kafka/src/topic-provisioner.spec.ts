import type { Admin } from 'kafkajs';
import { TopicProvisioner, type TopicShortfall } from './topic-provisioner';

type Metadata = Awaited<ReturnType<Admin['fetchTopicMetadata']>>;

function led(name: string, leaders: number[]): Metadata['topics'][number] {
  return {
    name,
    partitions: leaders.map((leader, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
    })),
  };
}

/** An admin client whose topic another process is creating: what each metadata call answers, in turn. */
function adminWhile(answers: (Metadata | Error)[], createError?: Error) {
  const calls = { create: 0, metadata: 0 };
  const created: unknown[] = [];
  const admin = {
    listTopics: async () => [],
    createTopics: async (request: { topics: unknown[] }) => {
      calls.create += 1;
      created.push(...request.topics);
      if (createError) throw createError;
      return true;
    },
    fetchTopicMetadata: async () => {
      const answer = answers[Math.min(calls.metadata, answers.length - 1)]!;
      calls.metadata += 1;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as Admin;
  return { admin, calls, created };
}

function brokerError(type: string): Error {
  return Object.assign(new Error(`broker says ${type}`), { type });
}

describe('TopicProvisioner', () => {
  it('creates a topic whose history is state with no retention limit', async () => {
    const { admin, created } = adminWhile([{ topics: [led('control', [1]), led('tasks', [1])] }]);
    const provisioner = new TopicProvisioner(async () => admin, {
      replicationFactor: 1,
      onShortfall: () => undefined,
    });
    await provisioner.ensure([
      { name: 'control', partitions: 1, keepForever: true },
      { name: 'tasks', partitions: 1 },
    ]);
    expect(created).toEqual([
      {
        topic: 'control',
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [{ name: 'retention.ms', value: '-1' }],
      },
      { topic: 'tasks', numPartitions: 1, replicationFactor: 1 },
    ]);
  });

  it('waits, after losing the race to create, until every partition has a leader', async () => {
    const { admin, calls } = adminWhile(
      [
        brokerError('UNKNOWN_TOPIC_OR_PARTITION'),
        brokerError('LEADER_NOT_AVAILABLE'),
        { topics: [led('t', [1, -1])] },
        { topics: [led('t', [1, 1])] },
      ],
      brokerError('TOPIC_ALREADY_EXISTS'),
    );
    const shortfalls: TopicShortfall[] = [];
    const provisioner = new TopicProvisioner(async () => admin, {
      replicationFactor: 1,
      onShortfall: (s) => shortfalls.push(s),
    });
    await provisioner.ensure([{ name: 't', partitions: 2 }]);
    expect(calls).toEqual({ create: 1, metadata: 4 });
    expect(shortfalls).toEqual([]);
  });

  it('gives up with what it waited for once the settle time is over', async () => {
    const { admin } = adminWhile([{ topics: [led('t', [-1])] }]);
    const provisioner = new TopicProvisioner(async () => admin, {
      replicationFactor: 1,
      onShortfall: () => undefined,
      settleTimeoutMs: 200,
    });
    await expect(provisioner.ensure([{ name: 't', partitions: 1 }])).rejects.toThrow(
      'topics are not ready after 200 ms: topic t has a partition without a leader',
    );
  });

  it('passes on any other broker error at once', async () => {
    const { admin, calls } = adminWhile([brokerError('TOPIC_AUTHORIZATION_FAILED')]);
    const provisioner = new TopicProvisioner(async () => admin, {
      replicationFactor: 1,
      onShortfall: () => undefined,
    });
    await expect(provisioner.ensure([{ name: 't', partitions: 1 }])).rejects.toThrow(
      'broker says TOPIC_AUTHORIZATION_FAILED',
    );
    expect(calls.metadata).toBe(1);
  });
});
