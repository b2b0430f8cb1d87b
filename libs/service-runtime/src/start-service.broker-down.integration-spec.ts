import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Module } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { BASE_ENV } from '@leash/config';
import { createEnvelope, type AnyEnvelope } from '@leash/contracts';
import { describeOnKafka, waitFor } from '@leash/testing';
import { startService, type RunningService } from './start-service';

/*
 * A service deployed before its broker: it serves its health endpoint, not
 * ready, while the broker does not answer, and starts consuming once it does.
 * The "broker" is a TCP proxy to the real one that refuses connections until
 * the test opens it.
 */

const seen: AnyEnvelope[] = [];

@Controller()
class ProbeConsumer {
  @EventPattern('control')
  onControl(@Payload() event: AnyEnvelope): void {
    seen.push(event);
  }
}

@Module({ controllers: [ProbeConsumer] })
class ProbeModule {}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Forwards each connection on `port` to the broker, from the moment it is called. */
async function openProxy(port: number, broker: string): Promise<Server> {
  const [host, brokerPort] = broker.split(':') as [string, string];
  const server = createServer((client) => {
    const upstream = connect(Number(brokerPort), host);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

async function readiness(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/health/ready`);
  return { status: response.status, body: await response.text() };
}

describeOnKafka('a service whose broker is down at start-up', (brokers) => {
  it('is live but not ready until the broker answers, then consumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leash-broker-down-'));
    const proxyPort = await freePort();
    const httpPort = await freePort();
    let proxy: Server | undefined;
    let service: RunningService | undefined;
    const starting = startService(
      { name: 'policy', env: BASE_ENV, module: ProbeModule },
      {
        env: {
          LEASH_BUS: 'kafka',
          KAFKA_BROKERS: `127.0.0.1:${proxyPort}`,
          KAFKA_CLIENT_ID: 'leash-broker-down-test',
          KAFKA_REPLICATION_FACTOR: '1',
          LEASH_TOPIC_PREFIX: `broker-down-${process.pid}-${Date.now()}.`,
          LEASH_PARTITIONS: '1',
          LEASH_STORE_FILE: join(dir, 'store.db'),
          LEASH_HTTP_PORT: String(httpPort),
        },
        logger: false,
      },
    ).then((running) => (service = running));
    try {
      const url = `http://127.0.0.1:${httpPort}`;
      const notReady = await waitFor(
        async () => {
          const answer = await readiness(url).catch(() => undefined);
          return answer?.status === 503 ? answer : undefined;
        },
        { description: 'the health endpoint to answer, not ready' },
      );
      expect(notReady.body).toContain('policy.consumers');
      expect(notReady.body).toContain('waiting for the bus');
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
      expect(service).toBeUndefined();

      proxy = await openProxy(proxyPort, brokers[0]!);
      await waitFor(async () => (await readiness(url)).status === 200, {
        description: 'the service to become ready once the broker answers',
        timeoutMs: 90_000,
      });
      await starting;
      const kill = createEnvelope(
        'leash.control.kill.v1',
        {
          commandId: 'c-broker-down',
          scope: { kind: 'all' },
          reason: 'test',
          issuedBy: 'test',
          issuedAt: new Date().toISOString(),
        },
        { source: 'test' },
      );
      await service!.engines.bus.publish('control', kill);
      await waitFor(() => seen.some((event) => event.id === kill.id), {
        description: 'the event to reach the consumer that waited for the broker',
      });
    } finally {
      await starting.catch(() => undefined);
      await service?.close();
      await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
