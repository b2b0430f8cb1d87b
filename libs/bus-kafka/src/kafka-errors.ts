/**
 * Errors a request can meet while what it needs settles: a topic's leaders
 * after it was created (by this process or another), or the group
 * coordinator (a partition of __consumer_offsets, created on a fresh
 * cluster's first group) while it loads or moves.
 */
const SETTLING = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/**
 * Whether an error is one of those, worth retrying. kafkajs wraps a broker error
 * its own retries gave up on in a KafkaJSNonRetriableError whose `cause` has the
 * type, so the cause counts too.
 */
export function isSettling(error: unknown): boolean {
  const { type, cause } = (error ?? {}) as { type?: string; cause?: { type?: string } };
  return SETTLING.has(type ?? '') || SETTLING.has(cause?.type ?? '') || isEmptyOffsetsAnswer(error);
}

/**
 * kafkajs 2.2.4's fetchTopicOffsets destructures the first topic of the brokers'
 * answer; while its cached metadata has no partitions for the topic (a broker restart,
 * a group moving) the answer is empty and it throws this TypeError instead of a
 * retriable error. Seen when a service restarts while others are busy.
 */
function isEmptyOffsetsAnswer(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    /Cannot destructure property 'partitions' of '(low|high)\.pop\(\.\.\.\)'/.test(error.message)
  );
}

/**
 * kafkajs's refusal of pause, resume and commitOffsets while a consumer has no group:
 * between a crash and its restart.
 */
export function isNotRunning(error: unknown): boolean {
  return /Consumer group was not initialized/.test(String((error as Error | undefined)?.message));
}

/**
 * Broker refusals that leave an idempotent producer unable to send again:
 * its producer id and sequence numbers no longer match the broker's (seen
 * after a broker restart: every later send fails with an out-of-order
 * sequence number, for good). kafkajs keeps the producer as it is; only a
 * new producer (a new producer id, sequences from zero) sends again.
 */
const PRODUCER_STATE_LOST = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'DUPLICATE_SEQUENCE_NUMBER',
]);

export function needsNewProducer(error: unknown): boolean {
  for (
    let e = error as { type?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (PRODUCER_STATE_LOST.has(e.type ?? '')) return true;
    e = e.cause as typeof e;
  }
  return false;
}
