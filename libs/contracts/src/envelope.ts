import { randomUUID } from 'node:crypto';
import { CloudEvent, Kafka, type KafkaMessage } from 'cloudevents';
import { z } from 'zod';
import {
  EVENTS,
  TOPICS,
  isEventType,
  type EventData,
  type EventType,
  type TopicName,
} from './topics';

/**
 * The one envelope every event travels in: CloudEvents 1.0 attributes, with
 * `tenantid` and `taskid` as extension attributes. On the wire it is the
 * CloudEvents Kafka binding in binary mode: attributes as `ce_*` headers, the
 * data as the JSON value.
 */
export interface Envelope<T extends EventType = EventType> {
  readonly id: string;
  readonly type: T;
  readonly source: string;
  readonly time: string;
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly data: EventData<T>;
}

/** Any envelope, discriminated by `type`, so `switch (e.type)` narrows `data`. */
export type AnyEnvelope = { [K in EventType]: Envelope<K> }[EventType];

/** The transport-neutral form of a message; both bus adapters carry exactly this. */
export interface WireMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

export interface EnvelopeAttributes {
  readonly source: string;
  readonly tenantId?: string;
  readonly taskId?: string;
  readonly id?: string;
  readonly time?: string;
}

const SCHEMA_CACHE = new Map<EventType, z.ZodType>();
function schemaOf(type: EventType): z.ZodType {
  let schema = SCHEMA_CACHE.get(type);
  if (!schema) {
    schema = EVENTS[type].schema as z.ZodType;
    SCHEMA_CACHE.set(type, schema);
  }
  return schema;
}

function validateData<T extends EventType>(type: T, data: unknown): EventData<T> {
  const parsed = schemaOf(type).safeParse(data);
  if (!parsed.success) {
    throw new EventValidationError(
      `${type}: invalid data: ${z.prettifyError(parsed.error)}`,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return parsed.data as EventData<T>;
}

/** Builds a validated envelope. Throws EventValidationError on bad data. */
export function createEnvelope<T extends EventType>(
  type: T,
  data: z.input<(typeof EVENTS)[T]['schema']>,
  attributes: EnvelopeAttributes,
): Envelope<T> {
  const envelope: Envelope<T> = {
    id: attributes.id ?? randomUUID(),
    type,
    source: attributes.source,
    time: attributes.time ?? new Date().toISOString(),
    ...(attributes.tenantId !== undefined ? { tenantId: attributes.tenantId } : {}),
    ...(attributes.taskId !== undefined ? { taskId: attributes.taskId } : {}),
    data: validateData(type, data),
  };
  partitionKeyOf(topicOf(envelope), envelope);
  return envelope;
}

export function topicOf(envelope: { type: EventType }): TopicName {
  return EVENTS[envelope.type].topic;
}

/** The partition key the registry assigns; throws when the envelope lacks the keyed attribute. */
export function partitionKeyOf(
  topic: TopicName,
  envelope: Pick<Envelope, 'tenantId' | 'taskId' | 'type'>,
): string {
  const field = TOPICS[topic].key;
  if (field === 'control') return 'control';
  const key = envelope[field];
  if (!key) {
    throw new EventValidationError(
      `${envelope.type} on ${topic} needs a ${field}: it is the partition key`,
    );
  }
  return key;
}

export function encodeEnvelope(topic: TopicName, envelope: Envelope): WireMessage {
  if (EVENTS[envelope.type].topic !== topic) {
    throw new EventValidationError(`${envelope.type} does not travel on ${topic}`);
  }
  const event = new CloudEvent<unknown>(
    {
      specversion: '1.0',
      id: envelope.id,
      type: envelope.type,
      source: envelope.source,
      time: envelope.time,
      datacontenttype: 'application/json',
      ...(envelope.tenantId !== undefined ? { tenantid: envelope.tenantId } : {}),
      ...(envelope.taskId !== undefined ? { taskid: envelope.taskId } : {}),
      data: envelope.data,
    },
    false,
  );
  const message = Kafka.binary(event) as KafkaMessage<unknown>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined && value !== null) headers[name] = String(value);
  }
  const value = message.value;
  return {
    key: partitionKeyOf(topic, envelope),
    value: Buffer.isBuffer(value)
      ? value
      : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers,
  };
}

const WireAttributes = z.object({
  id: z.string().min(1),
  source: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  tenantid: z.string().min(1).optional(),
  taskid: z.string().min(1).optional(),
});

/**
 * Reads and validates an envelope from the wire. Throws EventValidationError
 * naming what is wrong: a consumer sends such a message to the dead-letter topic.
 */
export function decodeEnvelope(topic: TopicName, message: WireMessage): AnyEnvelope {
  let event: CloudEvent<unknown>;
  try {
    const decoded = Kafka.toEvent({
      key: message.key,
      value: message.value.toString('utf8'),
      headers: message.headers,
    } as KafkaMessage<string>);
    event = (Array.isArray(decoded) ? decoded[0] : decoded) as CloudEvent<unknown>;
  } catch (error) {
    throw new EventValidationError(`not a CloudEvent: ${(error as Error).message}`);
  }
  const type = event.type;
  if (!isEventType(type)) throw new EventValidationError(`unknown event type "${type}"`);
  if (EVENTS[type].topic !== topic) {
    throw new EventValidationError(`${type} does not travel on ${topic}`);
  }
  const attributes = WireAttributes.safeParse(event);
  if (!attributes.success) {
    throw new EventValidationError(
      `${type}: invalid envelope: ${z.prettifyError(attributes.error)}`,
    );
  }
  let data: unknown = event.data;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(data.toString());
    } catch {
      throw new EventValidationError(`${type}: data is not JSON`);
    }
  }
  const envelope = {
    id: attributes.data.id,
    type,
    source: attributes.data.source,
    time: attributes.data.time,
    ...(attributes.data.tenantid !== undefined ? { tenantId: attributes.data.tenantid } : {}),
    ...(attributes.data.taskid !== undefined ? { taskId: attributes.data.taskid } : {}),
    data: validateData(type, data),
  } as AnyEnvelope;
  partitionKeyOf(topic, envelope);
  return envelope;
}
