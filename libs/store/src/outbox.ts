import {
  EVENTS,
  EventValidationError,
  isEventType,
  isValidatedEnvelope,
  partitionKeyOf,
  type AnyEnvelope,
  type TopicName,
} from '@leash/contracts';
import type { EnqueueOptions } from './store.port';

/** An outbox entry checked and serialised for storage; adapters store these fields as they are. */
export interface OutboxRecord {
  readonly topic: TopicName;
  readonly key: string;
  readonly eventId: string;
  readonly envelope: string;
  readonly headers: string;
}

/**
 * Checks that the event can be published (known type, right topic, valid
 * data, a partition key) and serialises it. Checking here, inside the
 * transaction, means a bad event fails the state change that caused it
 * rather than sitting at the head of its key's queue forever.
 */
export function prepareOutboxRecord(
  topic: TopicName,
  envelope: AnyEnvelope,
  options: EnqueueOptions = {},
): OutboxRecord {
  if (!isEventType(envelope.type)) {
    throw new EventValidationError(`outbox: unknown event type "${String(envelope.type)}"`);
  }
  const definition = EVENTS[envelope.type];
  if (definition.topic !== topic) {
    throw new EventValidationError(`outbox: ${envelope.type} does not travel on ${topic}`);
  }
  if (typeof envelope.id !== 'string' || envelope.id.length === 0) {
    throw new EventValidationError(`outbox: ${envelope.type} has no id`);
  }
  // createEnvelope checked the data already; an envelope built any other way is checked here.
  const parsed = isValidatedEnvelope(envelope)
    ? undefined
    : definition.schema.safeParse(envelope.data);
  if (parsed && !parsed.success) {
    throw new EventValidationError(
      `outbox: ${envelope.type} ${envelope.id}: invalid data`,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const key = partitionKeyOf(topic, envelope);
  return {
    topic,
    key,
    eventId: envelope.id,
    envelope: JSON.stringify(envelope),
    headers: JSON.stringify(options.headers ?? {}),
  };
}
