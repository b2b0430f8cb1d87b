/** A live member of a consumer group, as every member reads it from the shared file. */
export interface MemberSubscription {
  readonly memberId: string;
  readonly topics: readonly string[];
}

export interface TopicPartitionCount {
  readonly topic: string;
  readonly partitions: number;
}

export interface AssignedPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * The target assignment of a group. Every member computes it independently
 * from the same rows, so it must be a pure function of them: members and
 * partitions are sorted first and ties are broken by member id. Each partition
 * goes to the subscribed member holding the fewest so far, which keeps counts
 * within one of each other (Kafka's round-robin assignor does the same) even
 * when members subscribe to different topics.
 */
export function assignPartitions(
  members: readonly MemberSubscription[],
  topics: readonly TopicPartitionCount[],
): Map<string, AssignedPartition[]> {
  const sorted = [...members].sort((a, b) => compare(a.memberId, b.memberId));
  const assignment = new Map<string, AssignedPartition[]>(sorted.map((m) => [m.memberId, []]));
  const subscribers = new Map<string, string[]>();
  for (const member of sorted) {
    for (const topic of member.topics) {
      const list = subscribers.get(topic) ?? [];
      if (!list.includes(member.memberId)) list.push(member.memberId);
      subscribers.set(topic, list);
    }
  }
  const ordered = [...topics].sort((a, b) => compare(a.topic, b.topic));
  for (const { topic, partitions } of ordered) {
    const eligible = subscribers.get(topic);
    if (!eligible || eligible.length === 0) continue;
    for (let partition = 0; partition < partitions; partition++) {
      let chosen = eligible[0];
      for (const candidate of eligible) {
        if (assignment.get(candidate)!.length < assignment.get(chosen)!.length) chosen = candidate;
      }
      assignment.get(chosen)!.push({ topic, partition });
    }
  }
  return assignment;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
