import type { WireMessage } from '@leash/contracts';
import type { DeadLetter, TransportRecord } from './bus.port';

/*
 * A dead letter is the original record (same key, value and headers) plus
 * `leash-dlq-*` headers saying where it came from and why it failed, so it can
 * be inspected and replayed as it was.
 */
export const DLQ_HEADER_PREFIX = 'leash-dlq-';
export const DLQ_HEADERS = {
  error: 'leash-dlq-error',
  attempts: 'leash-dlq-attempts',
  topic: 'leash-dlq-topic',
  partition: 'leash-dlq-partition',
  offset: 'leash-dlq-offset',
  group: 'leash-dlq-group',
  failedAt: 'leash-dlq-failed-at',
} as const;

// Headers are not meant for essays: a validation report over a large payload can run long.
const MAX_ERROR_LENGTH = 8_000;

export interface DeadLetterCause {
  readonly group: string;
  readonly error: unknown;
  /** Handler attempts made; 0 when the record never reached the handler (it failed validation). */
  readonly attempts: number;
  readonly failedAt?: Date;
}

export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}...` : text;
}

/** The message to send to the dead-letter topic for a record that failed. */
export function toDeadLetterMessage(record: TransportRecord, cause: DeadLetterCause): WireMessage {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DLQ_HEADERS.error]: describeError(cause.error),
      [DLQ_HEADERS.attempts]: String(cause.attempts),
      [DLQ_HEADERS.topic]: record.topic,
      [DLQ_HEADERS.partition]: String(record.partition),
      [DLQ_HEADERS.offset]: record.offset,
      [DLQ_HEADERS.group]: cause.group,
      [DLQ_HEADERS.failedAt]: (cause.failedAt ?? new Date()).toISOString(),
    },
  };
}

/** Reads a record from a dead-letter topic back into what failed, where, and why. */
export function toDeadLetter(record: TransportRecord): DeadLetter {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(record.headers)) {
    if (!name.startsWith(DLQ_HEADER_PREFIX)) headers[name] = record.headers[name];
  }
  const dlq = record.headers;
  const attempts = Number(dlq[DLQ_HEADERS.attempts]);
  const partition = Number(dlq[DLQ_HEADERS.partition]);
  return {
    topic: record.topic,
    originalTopic: dlq[DLQ_HEADERS.topic] ?? record.topic.replace(/\.dlq$/, ''),
    originalPartition: Number.isInteger(partition) ? partition : -1,
    originalOffset: dlq[DLQ_HEADERS.offset] ?? '',
    group: dlq[DLQ_HEADERS.group] ?? '',
    error: dlq[DLQ_HEADERS.error] ?? '',
    attempts: Number.isInteger(attempts) ? attempts : 0,
    failedAt: dlq[DLQ_HEADERS.failedAt] ?? new Date(record.timestamp).toISOString(),
    headers,
    key: record.key,
    value: record.value,
  };
}
