import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { TOPICS, type AnyEnvelope, type TopicName } from '@leash/contracts';
import type { Bus } from '../bus.port';

/**
 * A Nest ClientProxy over the Bus, for code written against `ClientProxy`:
 * `client.emit('actions.proposed', envelope)` publishes the envelope. The bus
 * carries events only, so `send` (request-response) fails.
 */
export class BusClient extends ClientProxy {
  constructor(private readonly bus: Bus) {
    super();
    this.initializeSerializer({});
    this.initializeDeserializer({});
  }

  // The bus is opened and closed by its owner (the engines), not by a client.
  async connect(): Promise<void> {}

  async close(): Promise<void> {}

  unwrap<T>(): T {
    return this.bus as T;
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const topic = packet.pattern as unknown;
    if (typeof topic !== 'string' || !Object.prototype.hasOwnProperty.call(TOPICS, topic)) {
      throw new Error(`BusClient.emit: ${JSON.stringify(topic)} is not a topic name`);
    }
    const envelope = packet.data as AnyEnvelope;
    return (await this.bus.publish(topic as TopicName, envelope as never)) as T;
  }

  protected publish(_packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({
      err: new Error('the bus carries events only: use emit(topic, envelope)'),
      isDisposed: true,
    });
    return () => undefined;
  }
}
