/*
 * Kafka's default partitioner for keyed records: positive(murmur2(key)) % N,
 * bit for bit as the Java client (and kafkajs's DefaultPartitioner) computes it,
 * so a key lands on the same partition whichever engine carries it.
 */

const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995;
const R = 24;

// Keys are hashed on the hot path: encode them into one reused buffer instead of allocating.
let scratch = Buffer.allocUnsafe(1024);

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash of the UTF-8 bytes. */
export function murmur2(key: string | Uint8Array): number {
  if (typeof key !== 'string') return hashBytes(key, key.length);
  // One UTF-16 code unit never takes more than 3 UTF-8 bytes.
  if (key.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(key.length * 3);
  const length = scratch.write(key, 0, 'utf8');
  return hashBytes(scratch, length);
}

function hashBytes(data: Uint8Array, length: number): number {
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2] << 16;
  if (rest >= 2) h ^= data[whole + 1] << 8;
  if (rest >= 1) {
    h ^= data[whole];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: masks the sign bit (not Math.abs, which differs for negatives). */
export function toPositive(hash: number): number {
  return hash & 0x7fffffff;
}

/** The partition Kafka's default partitioner assigns to a keyed record. */
export function partitionOf(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }
  return toPositive(murmur2(key)) % partitions;
}
