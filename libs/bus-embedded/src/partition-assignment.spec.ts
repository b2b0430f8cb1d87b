import { assignPartitions } from './partition-assignment';

describe('assignPartitions', () => {
  it('gives a lone member every partition of its topics', () => {
    const result = assignPartitions(
      [{ memberId: 'a', topics: ['t1', 't2'] }],
      [
        { topic: 't1', partitions: 3 },
        { topic: 't2', partitions: 2 },
      ],
    );
    expect(result.get('a')).toHaveLength(5);
  });

  it('shares partitions fairly and covers each exactly once', () => {
    const members = ['m3', 'm1', 'm2'].map((memberId) => ({ memberId, topics: ['t'] }));
    const result = assignPartitions(members, [{ topic: 't', partitions: 8 }]);
    const counts = [...result.values()].map((list) => list.length).sort();
    expect(counts).toEqual([2, 3, 3]);
    const all = [...result.values()].flat().map((p) => p.partition);
    expect(all.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('is the same whatever order the rows come in', () => {
    const topics = [
      { topic: 'b', partitions: 4 },
      { topic: 'a', partitions: 4 },
    ];
    const one = assignPartitions(
      [
        { memberId: 'x', topics: ['a', 'b'] },
        { memberId: 'y', topics: ['b'] },
      ],
      topics,
    );
    const two = assignPartitions(
      [
        { memberId: 'y', topics: ['b'] },
        { memberId: 'x', topics: ['b', 'a'] },
      ],
      [...topics].reverse(),
    );
    expect(two).toEqual(one);
  });

  it('only assigns a topic to members subscribed to it, balancing the rest', () => {
    const result = assignPartitions(
      [
        { memberId: 'x', topics: ['a', 'b'] },
        { memberId: 'y', topics: ['b'] },
      ],
      [
        { topic: 'a', partitions: 4 },
        { topic: 'b', partitions: 4 },
      ],
    );
    expect(result.get('y')!.every((p) => p.topic === 'b')).toBe(true);
    expect(result.get('x')).toHaveLength(4);
    expect(result.get('y')).toHaveLength(4);
  });
});
