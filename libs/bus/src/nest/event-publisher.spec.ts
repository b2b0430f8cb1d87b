import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import type { AnyEnvelope } from '@leash/contracts';
import { createEnvelope } from '@leash/contracts';
import { waitFor } from '@leash/testing';
import { createBus } from '../bus';
import type { Bus } from '../bus.port';
import { InMemoryTransport } from '../in-memory.transport';
import type { BusClient } from './bus.client';
import { BusModule } from './bus.module';
import { EventPublisher } from './event-publisher';
import { BUS, BUS_CLIENT } from './tokens';

describe('BusModule', () => {
  let bus: Bus;
  const seen: AnyEnvelope[] = [];

  beforeEach(async () => {
    seen.length = 0;
    bus = createBus({ transport: new InMemoryTransport(), source: 'test' });
    await bus.subscribe('observer', ['control'], async (delivery) => {
      seen.push(delivery.event);
    });
  });

  afterEach(() => bus.close());

  async function container() {
    const moduleRef = await Test.createTestingModule({
      imports: [BusModule.forRoot({ bus, source: 'policy' })],
    }).compile();
    return moduleRef;
  }

  it('provides the bus it was given', async () => {
    expect((await container()).get(BUS)).toBe(bus);
  });

  it('EventPublisher.emit builds the envelope with the service as source and publishes it', async () => {
    const publisher = (await container()).get(EventPublisher);
    const envelope = await publisher.emit('leash.control.ack.v1', {
      commandId: 'c1',
      command: 'kill',
      service: 'policy',
      instance: 'p-1',
      aborted: 0,
      appliedAt: new Date().toISOString(),
    });
    expect(envelope.source).toBe('policy');
    await waitFor(() => seen.some((e) => e.id === envelope.id), {
      description: 'the ack on the control topic',
    });
  });

  it('EventPublisher.emit refuses invalid data before it reaches the bus', async () => {
    const publisher = (await container()).get(EventPublisher);
    await expect(
      publisher.emit('leash.control.ack.v1', { commandId: '' } as never),
    ).rejects.toThrow('leash.control.ack.v1: invalid data');
  });

  it('BusClient.emit publishes an envelope on a topic; send is refused', async () => {
    const client = (await container()).get<BusClient>(BUS_CLIENT);
    const envelope = createEnvelope(
      'leash.control.resume.v1',
      {
        commandId: 'c2',
        scope: { kind: 'all' },
        reason: 'ok',
        issuedBy: 'oncall',
        issuedAt: new Date().toISOString(),
      },
      { source: 'cli' },
    );
    await lastValueFrom(client.emit('control', envelope), { defaultValue: undefined });
    await waitFor(() => seen.some((e) => e.id === envelope.id), {
      description: 'the resume on the control topic',
    });
    await expect(lastValueFrom(client.emit('no.such.topic', envelope))).rejects.toThrow(
      '"no.such.topic" is not a topic name',
    );
    await expect(lastValueFrom(client.send('control', envelope))).rejects.toThrow(
      'the bus carries events only',
    );
  });
});
