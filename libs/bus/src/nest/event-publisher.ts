import { Inject, Injectable } from '@nestjs/common';
import {
  createEnvelope,
  topicOf,
  type EnvelopeAttributes,
  type Envelope,
  type EventType,
  type EventTypeOn,
  type EVENTS,
  type TopicName,
} from '@leash/contracts';
import type { z } from 'zod';
import type { Bus, PublishOptions, PublishReceipt } from '../bus.port';
import { BUS, EVENT_SOURCE } from './tokens';

/** What use cases inject to publish: typed by the topic registry, the same on every bus adapter. */
@Injectable()
export class EventPublisher {
  constructor(
    @Inject(BUS) private readonly bus: Bus,
    @Inject(EVENT_SOURCE) readonly source: string,
  ) {}

  publish<T extends TopicName>(
    topic: T,
    envelope: Envelope<EventTypeOn<T>>,
    options?: PublishOptions,
  ): Promise<PublishReceipt> {
    return this.bus.publish(topic, envelope, options);
  }

  /** Builds the envelope (this service as `source`) and publishes it on the topic its type travels on. */
  async emit<T extends EventType>(
    type: T,
    data: z.input<(typeof EVENTS)[T]['schema']>,
    attributes: Omit<EnvelopeAttributes, 'source'> = {},
    options?: PublishOptions,
  ): Promise<Envelope<T>> {
    const envelope = createEnvelope(type, data, { ...attributes, source: this.source });
    await this.bus.publish(topicOf(envelope), envelope as never, options);
    return envelope;
  }
}
