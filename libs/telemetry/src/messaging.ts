import {
  ROOT_CONTEXT,
  SpanKind,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
} from '@opentelemetry/semantic-conventions/incubating';
import { LEASH, eventAttributes, type EventLike } from './attributes';
import { messageSpanContext, spansExported, startSpan } from './tracing';

/*
 * Messaging semantic conventions for the bus: a `publish <topic>` producer
 * span whose context travels in the message headers, and a `process <topic>`
 * consumer span, child of that context, around the handler. The offset uses
 * the Kafka attribute for every adapter: the embedded log has Kafka's
 * topic/partition/offset model. A batch consumer instead opens one `process`
 * span per batch, with a link to each message's producer context.
 */

export {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
};

export interface PublishSpanInfo {
  readonly system: string;
  /** The physical topic name (prefix applied). */
  readonly destination: string;
  readonly key: string;
  readonly bodySize: number;
  readonly event: EventLike;
  readonly parent: Context;
}

export function startPublishSpan(info: PublishSpanInfo): Span {
  return startSpan(
    `publish ${info.destination}`,
    // The service is known at the start: it picks the span's resource (service.name).
    {
      kind: SpanKind.PRODUCER,
      ...(info.event.source ? { attributes: { [LEASH.service]: info.event.source } } : {}),
    },
    info.parent,
    () => publishAttributes(info),
  );
}

function publishAttributes(info: PublishSpanInfo): Attributes {
  const attributes: Attributes = eventAttributes(info.event);
  attributes[ATTR_MESSAGING_SYSTEM] = info.system;
  attributes[ATTR_MESSAGING_DESTINATION_NAME] = info.destination;
  attributes[ATTR_MESSAGING_OPERATION_TYPE] = 'send';
  attributes[ATTR_MESSAGING_OPERATION_NAME] = 'publish';
  attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = info.key;
  attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = info.bodySize;
  if (info.event.id) attributes[ATTR_MESSAGING_MESSAGE_ID] = info.event.id;
  // The CloudEvents source is the service that produced the event, whoever relays it.
  if (info.event.source) attributes[LEASH.service] = info.event.source;
  return attributes;
}

/** Adds where the message landed, once the transport acknowledged it. */
export function publishedAt(span: Span, partition: number, offset: string): void {
  if (!span.isRecording()) return;
  span.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(partition));
  span.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, Number(offset));
}

export interface ProcessSpanInfo {
  readonly system: string;
  readonly destination: string;
  readonly group: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  /** Undefined when the record failed validation: the span still shows the failure. */
  readonly event?: EventLike;
  readonly parent: Context;
}

/** The service a consumer group works for: `policy`, `policy.control.<instance>` -> policy. */
export function serviceOfGroup(group: string): string {
  const dot = group.indexOf('.');
  return dot === -1 ? group : group.slice(0, dot);
}

export function startProcessSpan(info: ProcessSpanInfo): Span {
  return startSpan(
    `process ${info.destination}`,
    { kind: SpanKind.CONSUMER, attributes: { [LEASH.service]: serviceOfGroup(info.group) } },
    info.parent,
    () => processAttributes(info),
  );
}

function processAttributes(info: ProcessSpanInfo): Attributes {
  const attributes: Attributes = info.event ? eventAttributes(info.event) : {};
  attributes[ATTR_MESSAGING_SYSTEM] = info.system;
  attributes[ATTR_MESSAGING_DESTINATION_NAME] = info.destination;
  attributes[ATTR_MESSAGING_OPERATION_TYPE] = 'process';
  attributes[ATTR_MESSAGING_OPERATION_NAME] = 'process';
  attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = info.group;
  attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(info.partition);
  attributes[ATTR_MESSAGING_KAFKA_OFFSET] = Number(info.offset);
  attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = info.key;
  if (info.event?.id) attributes[ATTR_MESSAGING_MESSAGE_ID] = info.event.id;
  attributes[LEASH.service] = serviceOfGroup(info.group);
  return attributes;
}

export interface BatchMessage {
  /** The physical topic name (prefix applied). */
  readonly destination: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly event: EventLike;
}

export interface BatchProcessSpanInfo {
  readonly system: string;
  readonly group: string;
  readonly messages: readonly BatchMessage[];
}

/**
 * The span of a batch consumer (one that subscribes with `processSpans:
 * false`): one `process` span around the batch, in a trace of its own, with a
 * link to each message's producer context, as the messaging conventions have
 * batch processing. A task's trace then shows its events' publish spans, each
 * linked from the batch that consumed it, rather than a child span per event.
 */
export function startBatchProcessSpan(info: BatchProcessSpanInfo): Span {
  const { messages } = info;
  const first = messages[0]?.destination;
  const oneDestination = first !== undefined && messages.every((m) => m.destination === first);
  const span = startSpan(
    oneDestination ? `process ${first}` : 'process',
    {
      kind: SpanKind.CONSUMER,
      root: true,
      attributes: { [LEASH.service]: serviceOfGroup(info.group) },
    },
    ROOT_CONTEXT,
  );
  if (span.isRecording()) {
    // Added once recorded: the sampler does not read links, and an unsampled batch needs none.
    const links: Link[] = [];
    for (const message of spansExported() ? messages : []) {
      const spanContext = messageSpanContext(message.headers, message.event.taskId);
      if (!spanContext) continue;
      const attributes: Attributes = { [ATTR_MESSAGING_DESTINATION_NAME]: message.destination };
      if (message.event.id) attributes[ATTR_MESSAGING_MESSAGE_ID] = message.event.id;
      links.push({ context: spanContext, attributes });
    }
    span.addLinks(links);
    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: info.system,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: info.group,
      [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: messages.length,
      [LEASH.service]: serviceOfGroup(info.group),
    };
    if (oneDestination) attributes[ATTR_MESSAGING_DESTINATION_NAME] = first;
    span.setAttributes(attributes);
  }
  return span;
}
