import { murmur2, partitionOf, toPositive } from './partitioner';

// Expected hashes are those of Kafka's Java client (Utils.murmur2), as kafkajs's tests record them.
const JAVA_MURMUR2: Record<string, number> = {
  '0': 971027396,
  '1': -1993445489,
  '128': -326012175,
  '2187': -1508407203,
  '16384': -325739742,
  '78125': -1654490814,
  '279936': 1462227128,
  '823543': -2014198330,
  '2097152': 607668903,
  '4782969': -1182699775,
  '10000000': -1830336757,
  '19487171': -1603849305,
  '35831808': -857013643,
  '62748517': -1167431028,
  '105413504': -381294639,
  '170859375': -1658323481,
  '100:48069': 1009543857,
};

describe('murmur2', () => {
  it.each(Object.entries(JAVA_MURMUR2))('hashes %p as Kafka does', (key, expected) => {
    expect(murmur2(key)).toBe(expected);
  });

  it('hashes bytes and their UTF-8 string alike', () => {
    expect(murmur2(Buffer.from('1'))).toBe(-1993445489);
    for (const key of ['ключ', 'tâche-42', '🔑 emoji', '', 'abc', 'abcd', 'abcde']) {
      expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')));
    }
  });

  it('handles keys longer than its scratch buffer', () => {
    const key = 'k'.repeat(5_000) + 'é'.repeat(700);
    expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')));
    expect(murmur2('100:48069')).toBe(1009543857);
  });
});

describe('partitionOf', () => {
  it('masks the sign bit like Kafka (not Math.abs)', () => {
    expect(toPositive(-1993445489)).toBe(154038159);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(Math.abs(-1)).not.toBe(toPositive(-1));
  });

  it('is positive(murmur2(key)) % partitions', () => {
    expect(partitionOf('1', 8)).toBe(154038159 % 8);
    expect(partitionOf('0', 8)).toBe(971027396 % 8);
    for (const [key, hash] of Object.entries(JAVA_MURMUR2)) {
      expect(partitionOf(key, 12)).toBe((hash & 0x7fffffff) % 12);
    }
  });

  it('spreads keys over every partition', () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`task-${i}`, 8)));
    expect(used.size).toBe(8);
  });

  it('refuses a partition count that is not a positive integer', () => {
    expect(() => partitionOf('a', 0)).toThrow(RangeError);
    expect(() => partitionOf('a', 1.5)).toThrow(RangeError);
  });
});
