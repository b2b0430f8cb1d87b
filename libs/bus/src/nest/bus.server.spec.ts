import { Controller, Injectable, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Observable } from 'rxjs';
import { createEnvelope, type AnyEnvelope, type TopicName } from '@leash/contracts';
import { waitFor } from '@leash/testing';
import { createBus } from '../bus';
import type { Bus, DeadLetter } from '../bus.port';
import { TransientError } from '../errors';
import { InMemoryTransport } from '../in-memory.transport';
import { BusContext } from './bus.context';
import { BusModule } from './bus.module';
import { BusServer } from './bus.server';

function kill(commandId: string) {
  return createEnvelope(
    'leash.control.kill.v1',
    {
      commandId,
      scope: { kind: 'all' },
      reason: 'test',
      issuedBy: 'tester',
      issuedAt: new Date().toISOString(),
    },
    { source: 'test' },
  );
}

interface Received {
  readonly event: AnyEnvelope;
  readonly topic: string;
  readonly offset: string;
  readonly attempt: number;
  readonly signal: AbortSignal;
}

@Injectable()
class Inbox {
  readonly received: Received[] = [];
}

@Controller()
class ControlConsumer {
  constructor(private readonly inbox: Inbox) {}

  @EventPattern<TopicName>('control')
  async onControl(@Payload() event: AnyEnvelope, @Ctx() context: BusContext): Promise<void> {
    this.inbox.received.push({
      event,
      topic: context.getTopic(),
      offset: context.getOffset(),
      attempt: context.getAttempt(),
      signal: context.getSignal(),
    });
    if (event.type === 'leash.control.kill.v1' && event.data.commandId === 'poison') {
      throw new Error('cannot apply this command');
    }
    if (event.type === 'leash.control.kill.v1' && event.data.commandId === 'flaky') {
      if (context.getAttempt() === 1) throw new TransientError('store timed out');
    }
  }
}

@Controller()
class ObservableConsumer {
  @EventPattern<TopicName>('tasks.requested')
  onTask(): Observable<never> {
    return new Observable((subscriber) => subscriber.error(new Error('stream failed')));
  }
}

@Controller()
class TypoConsumer {
  @EventPattern<string>('actions.propsed')
  onTypo(): void {}
}

@Controller()
class RequestConsumer {
  @MessagePattern('control')
  onRequest(): string {
    return 'pong';
  }
}

describe('BusServer', () => {
  let bus: Bus;
  let app: INestMicroservice | undefined;

  beforeEach(() => {
    bus = createBus({
      transport: new InMemoryTransport(),
      source: 'test',
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    });
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await bus.close();
  });

  async function boot(...controllers: (new (...args: never[]) => unknown)[]) {
    @Module({
      imports: [BusModule.forRoot({ bus, source: 'test-service' })],
      controllers,
      providers: [Inbox],
    })
    class TestModule {}
    app = await NestFactory.createMicroservice(TestModule, {
      strategy: new BusServer({ bus, group: 'test-service' }),
      logger: false,
      abortOnError: false,
    });
    await app.listen();
    return app;
  }

  it('passes a published envelope to its @EventPattern handler with a BusContext', async () => {
    const started = await boot(ControlConsumer);
    const inbox = started.get(Inbox);
    const command = kill('cmd-1');

    await bus.publish('control', command);

    const [received] = await waitFor(
      () => (inbox.received.length > 0 ? inbox.received : undefined),
      {
        description: 'the kill to reach the handler',
      },
    );
    expect(received.event).toEqual(command);
    expect(received.topic).toBe('control');
    expect(received.offset).toEqual(expect.any(String));
    expect(received.attempt).toBe(1);
    expect(received.signal).toBeInstanceOf(AbortSignal);
  });

  it('sends the event to the dead-letter topic when the handler throws, and goes on', async () => {
    const started = await boot(ControlConsumer);
    const inbox = started.get(Inbox);
    const letters: DeadLetter[] = [];
    const watcher = await bus.subscribeDeadLetters('dlq-watcher', ['control'], async (letter) => {
      letters.push(letter);
    });

    await bus.publish('control', kill('poison'));
    await bus.publish('control', kill('after'));

    const [letter] = await waitFor(() => (letters.length > 0 ? letters : undefined), {
      description: 'the failed event on the dead-letter topic',
    });
    expect(letter.group).toBe('test-service');
    expect(letter.error).toContain('cannot apply this command');
    await waitFor(
      () =>
        inbox.received.some(
          (r) => r.event.type === 'leash.control.kill.v1' && r.event.data.commandId === 'after',
        ),
      { description: 'the next event after the poison one' },
    );
    await watcher.close();
  });

  it('keeps a transient error transient, so the bus retries the delivery', async () => {
    const started = await boot(ControlConsumer);
    const inbox = started.get(Inbox);
    await bus.publish('control', kill('flaky'));
    const attempts = await waitFor(
      () => {
        const seen = inbox.received.filter(
          (r) => r.event.type === 'leash.control.kill.v1' && r.event.data.commandId === 'flaky',
        );
        return seen.length === 2 ? seen.map((r) => r.attempt) : undefined;
      },
      { description: 'a second attempt after the transient error' },
    );
    expect(attempts).toEqual([1, 2]);
  });

  it('awaits an observable handler, so a stream error reaches the dead-letter topic too', async () => {
    await boot(ObservableConsumer);
    const letters: DeadLetter[] = [];
    const watcher = await bus.subscribeDeadLetters(
      'dlq-watcher',
      ['tasks.requested'],
      async (l) => {
        letters.push(l);
      },
    );
    await bus.publish(
      'tasks.requested',
      createEnvelope(
        'leash.tasks.requested.v1',
        { agent: 'support', input: 'refund order 42' },
        { source: 'test', tenantId: 't1', taskId: 'task-1' },
      ),
    );
    const [letter] = await waitFor(() => (letters.length > 0 ? letters : undefined), {
      description: 'the stream error on the dead-letter topic',
    });
    expect(letter.error).toContain('stream failed');
    await watcher.close();
  });

  it('refuses at start-up a pattern that names no topic', async () => {
    await expect(boot(TypoConsumer)).rejects.toThrow(
      /BusServer \(group test-service\): @EventPattern names no topic: "actions\.propsed"; known topics: tasks\.requested/,
    );
  });

  it('refuses at start-up a request-response pattern', async () => {
    await expect(boot(RequestConsumer)).rejects.toThrow(
      'the bus carries events only, not requests: replace @MessagePattern "control" with @EventPattern',
    );
  });

  it('stops consuming on close while the bus stays open', async () => {
    const started = await boot(ControlConsumer);
    const inbox = started.get(Inbox);
    await started.close();
    app = undefined;

    await bus.publish('control', kill('after-close'));
    await expect(bus.ping()).resolves.toBeUndefined();
    expect(inbox.received).toHaveLength(0);
  });
});
