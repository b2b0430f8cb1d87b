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
 * `tenantid` and `taskid` as extension attributes, checked by the
 * `cloudevents` package when an envelope is made. On the wire it is the
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

/** Envelopes `createEnvelope` built, each with the data object it validated. */
const VALIDATED = new WeakMap<object, unknown>();

/** Builds a validated envelope. Throws EventValidationError on bad data. */
export function createEnvelope<T extends EventType>(
  type: T,
  data: z.input<(typeof EVENTS)[T]['schema']>,
  attributes: EnvelopeAttributes,
): Envelope<T> {
  const id = attributes.id ?? randomUUID();
  const time = attributes.time ?? new Date().toISOString();
  // The package checks the context attributes against the CloudEvents 1.0 spec.
  try {
    new CloudEvent(
      {
        specversion: '1.0',
        id,
        type,
        source: attributes.source,
        time,
        ...(attributes.tenantId !== undefined ? { tenantid: attributes.tenantId } : {}),
        ...(attributes.taskId !== undefined ? { taskid: attributes.taskId } : {}),
      },
      true,
    );
  } catch (error) {
    throw new EventValidationError(
      `${type}: invalid CloudEvent attributes: ${describeCloudEventError(error)}`,
    );
  }
  const envelope: Envelope<T> = {
    id,
    type,
    source: attributes.source,
    time,
    ...(attributes.tenantId !== undefined ? { tenantId: attributes.tenantId } : {}),
    ...(attributes.taskId !== undefined ? { taskId: attributes.taskId } : {}),
    data: validateData(type, data),
  };
  partitionKeyOf(topicOf(envelope), envelope);
  VALIDATED.set(envelope, envelope.data);
  return envelope;
}

/**
 * True when `createEnvelope` built this very envelope and its `data` is still
 * the object it validated, so checking the data again can be skipped.
 * Envelopes are readonly throughout; data changed in place after creation is
 * a bug this cannot see, and consumers still check every event at the edge.
 */
export function isValidatedEnvelope(envelope: Pick<Envelope, 'data'>): boolean {
  return VALIDATED.has(envelope) && VALIDATED.get(envelope) === envelope.data;
}

function describeCloudEventError(error: unknown): string {
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0
    ? errors.map((e) => JSON.stringify(e)).join('; ')
    : (error as Error).message;
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

/*
 * The hot path maps binary mode by hand: the `cloudevents` Kafka binding costs
 * about 20 us per event each way (it rebuilds a CloudEvent and copies every
 * attribute), which alone held the embedded bus under 14k events/s. The
 * mapping is the binding's, attribute for attribute; envelope.spec.ts checks
 * it against `Kafka.binary` and `Kafka.toEvent` in both directions, and
 * structured-mode messages from other producers still go through the package.
 */
const JSON_TYPE = 'application/json';
const CE_JSON_TYPE = 'application/cloudevents';

export function encodeEnvelope(topic: TopicName, envelope: Envelope): WireMessage {
  if (EVENTS[envelope.type].topic !== topic) {
    throw new EventValidationError(`${envelope.type} does not travel on ${topic}`);
  }
  const headers: Record<string, string> = {
    'content-type': JSON_TYPE,
    ce_id: envelope.id,
    ce_time: envelope.time,
    ce_type: envelope.type,
    ce_source: envelope.source,
    ce_specversion: '1.0',
    ce_datacontenttype: JSON_TYPE,
  };
  if (envelope.tenantId !== undefined) headers.ce_tenantid = envelope.tenantId;
  if (envelope.taskId !== undefined) headers.ce_taskid = envelope.taskId;
  return {
    key: partitionKeyOf(topic, envelope),
    value: Buffer.from(JSON.stringify(envelope.data)),
    headers,
  };
}

interface WireAttributes {
  id: string;
  type: string;
  source: string;
  time: string;
  tenantid?: string;
  taskid?: string;
  data: unknown;
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return lower;
}

function readBinary(message: WireMessage): WireAttributes {
  const headers =
    message.headers.ce_id !== undefined ? message.headers : lowerCased(message.headers);
  const contentType = headers['content-type'] ?? headers.ce_datacontenttype;
  if (contentType?.startsWith(CE_JSON_TYPE)) return readStructured(message);
  if (headers.ce_specversion !== '1.0') {
    throw new EventValidationError(
      `not a CloudEvents 1.0 message: ce_specversion is ${JSON.stringify(headers.ce_specversion)}`,
    );
  }
  for (const name of ['ce_id', 'ce_type', 'ce_source', 'ce_time'] as const) {
    if (!headers[name]) throw new EventValidationError(`not a CloudEvent: no ${name} header`);
  }
  const time = Date.parse(headers.ce_time!);
  if (Number.isNaN(time))
    throw new EventValidationError(`ce_time is not a time: ${headers.ce_time}`);
  if (contentType !== undefined && !contentType.startsWith(JSON_TYPE)) {
    throw new EventValidationError(`data must be ${JSON_TYPE}, not ${contentType}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(message.value.toString('utf8'));
  } catch {
    throw new EventValidationError(`${headers.ce_type}: data is not JSON`);
  }
  return {
    id: headers.ce_id!,
    type: headers.ce_type!,
    source: headers.ce_source!,
    time: new Date(time).toISOString(),
    ...(headers.ce_tenantid ? { tenantid: headers.ce_tenantid } : {}),
    ...(headers.ce_taskid ? { taskid: headers.ce_taskid } : {}),
    data,
  };
}

/** Structured mode (the whole event as the JSON value), as other producers may send it. */
function readStructured(message: WireMessage): WireAttributes {
  let event: CloudEvent<unknown>;
  try {
    event = Kafka.toEvent({
      key: message.key,
      value: message.value.toString('utf8'),
      headers: message.headers,
    } as KafkaMessage<string>) as CloudEvent<unknown>;
    event.validate();
  } catch (error) {
    throw new EventValidationError(`not a CloudEvent: ${(error as Error).message}`);
  }
  const extensions = event as unknown as { tenantid?: unknown; taskid?: unknown };
  return {
    id: event.id,
    type: event.type,
    source: event.source,
    time: event.time ?? '',
    ...(typeof extensions.tenantid === 'string' ? { tenantid: extensions.tenantid } : {}),
    ...(typeof extensions.taskid === 'string' ? { taskid: extensions.taskid } : {}),
    data: event.data,
  };
}

/**
 * Reads and validates an envelope from the wire. Throws EventValidationError
 * naming what is wrong: a consumer sends such a message to the dead-letter topic.
 */
export function decodeEnvelope(topic: TopicName, message: WireMessage): AnyEnvelope {
  const wire = readBinary(message);
  const type = wire.type;
  if (!isEventType(type)) throw new EventValidationError(`unknown event type "${type}"`);
  if (EVENTS[type].topic !== topic) {
    throw new EventValidationError(`${type} does not travel on ${topic}`);
  }
  const envelope = {
    id: wire.id,
    type,
    source: wire.source,
    time: wire.time,
    ...(wire.tenantid !== undefined ? { tenantId: wire.tenantid } : {}),
    ...(wire.taskid !== undefined ? { taskId: wire.taskid } : {}),
    data: validateData(type, wire.data),
  } as AnyEnvelope;
  partitionKeyOf(topic, envelope);
  return envelope;
}
