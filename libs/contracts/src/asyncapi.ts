import { z } from 'zod';
import { EVENTS, TOPICS, TOPIC_NAMES, eventsOn, type EventType, type TopicName } from './topics';

/*
 * Builds the AsyncAPI 3.0 document of every topic from the registry and the
 * zod schemas, so the document can never describe a contract we do not run.
 * The committed copy (libs/contracts/asyncapi.json) is checked against this
 * output by a test; regenerate it with `npm run asyncapi`.
 */

type JsonSchema = Record<string, unknown>;

const PACKAGE_VERSION = '0.1.0';

function channelId(topic: TopicName): string {
  return topic.replace(/\.(\w)/g, (_, c: string) => c.toUpperCase());
}

function payloadSchema(type: EventType): JsonSchema {
  // `input` describes what a consumer accepts on the wire (defaults may be omitted by producers).
  const schema = z.toJSONSchema(EVENTS[type].schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  delete schema.$schema;
  return schema;
}

/** CloudEvents binary mode over Kafka: the context attributes travel as `ce_` headers. */
function headersSchema(topic: TopicName): JsonSchema {
  const keyed = TOPICS[topic].key;
  const required = ['ce_specversion', 'ce_id', 'ce_type', 'ce_source', 'ce_time', 'content-type'];
  if (keyed === 'taskId') required.push('ce_taskid');
  if (keyed === 'tenantId') required.push('ce_tenantid');
  return {
    type: 'object',
    required,
    properties: {
      ce_specversion: { type: 'string', const: '1.0' },
      ce_id: { type: 'string', description: 'Event id; consumers dedupe by it.' },
      ce_type: { type: 'string', description: 'Versioned event type.' },
      ce_source: { type: 'string', description: 'The producing service instance.' },
      ce_time: { type: 'string', format: 'date-time' },
      ce_tenantid: { type: 'string', description: 'Extension attribute: the tenant.' },
      ce_taskid: { type: 'string', description: 'Extension attribute: the task.' },
      'content-type': { type: 'string', const: 'application/json' },
      traceparent: { type: 'string', description: 'W3C trace context.' },
      tracestate: { type: 'string', description: 'W3C trace context.' },
    },
  };
}

export function buildAsyncApiDocument(topicPrefix = 'leash.'): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const topic of TOPIC_NAMES) {
    const id = channelId(topic);
    const channelMessages: Record<string, unknown> = {};
    for (const type of eventsOn(topic)) {
      const messageId = type.replace(/\./g, '_');
      channelMessages[messageId] = { $ref: `#/components/messages/${messageId}` };
      messages[messageId] = {
        name: type,
        title: type,
        summary: EVENTS[type].summary,
        contentType: 'application/json',
        headers: headersSchema(topic),
        payload: payloadSchema(type),
        bindings: {
          kafka: {
            key: { type: 'string', description: `Partition key: ${TOPICS[topic].key}.` },
            bindingVersion: '0.5.0',
          },
        },
      };
    }
    channels[id] = {
      address: `${topicPrefix}${topic}`,
      title: topic,
      description: `${TOPICS[topic].description} Partition key: ${TOPICS[topic].key}. Dead letters: ${topicPrefix}${topic}.dlq.`,
      messages: channelMessages,
    };
    operations[`publish_${id}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      messages: Object.keys(channelMessages).map((m) => ({
        $ref: `#/channels/${id}/messages/${m}`,
      })),
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Leash events',
      version: PACKAGE_VERSION,
      description:
        'Every topic of the Leash control plane. Events are CloudEvents 1.0 in binary mode: attributes in headers, data as the JSON value.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}

/** The committed file's exact text for a document. */
export function renderAsyncApiDocument(document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
