import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createBus, type Bus, type BusTransport } from '@leash/bus';
import { SqliteTransport } from '@leash/bus-embedded';
import type { BaseConfig } from '@leash/config';
import type { ServiceName } from '@leash/contracts';
import { OutboxRelay, type Store } from '@leash/store';
import { openMemoryStore } from '@leash/store-memory';
import { openSqliteStore } from '@leash/store-sqlite';

/** A process that owns a store: each service, and the audit recorder. */
export type ProcessName = ServiceName | 'audit';

/** The part of the config that picks and places the store. */
export type StoreConfig = Pick<
  BaseConfig,
  | 'LEASH_STORE'
  | 'LEASH_STORE_FILE'
  | 'LEASH_STORE_DIR'
  | 'MONGO_URL'
  | 'MONGO_DATABASE_PER_SERVICE'
  | 'MONGO_POOL_SIZE'
  | 'MONGO_TIMEOUT_MS'
>;

/** The part of the config that picks and places the engines. */
export type EnginesConfig = StoreConfig &
  Pick<
    BaseConfig,
    | 'LEASH_BUS'
    | 'LEASH_BUS_FILE'
    | 'KAFKA_BROKERS'
    | 'KAFKA_CLIENT_ID'
    | 'KAFKA_REPLICATION_FACTOR'
    | 'KAFKA_SESSION_TIMEOUT_MS'
    | 'KAFKA_SSL'
    | 'KAFKA_SSL_CA_FILE'
    | 'KAFKA_SASL_MECHANISM'
    | 'KAFKA_SASL_USERNAME'
    | 'KAFKA_SASL_PASSWORD'
    | 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE'
    | 'LEASH_TOPIC_PREFIX'
    | 'LEASH_PARTITIONS'
  >;

export interface Engines {
  readonly bus: Bus;
  readonly store: Store;
  /** Where each engine lives, for start-up logs (never a secret). */
  readonly location: { readonly bus: string; readonly store: string };
  /** Closes the bus (draining its subscriptions), then the store. Idempotent. */
  close(): Promise<void>;
}

export interface OpenEnginesOptions {
  /** The CloudEvents source of the bus's producer: the service, or `leash` for the launcher. */
  readonly source: string;
  /**
   * For unit specs: the store in this process's memory (@leash/store-memory),
   * whatever the store variables say. Nothing survives the process.
   */
  readonly memoryStore?: boolean;
  /**
   * Relay the store's outbox to the bus (default true). Services need it: their
   * use cases publish through the outbox. A CLI that only publishes directly
   * passes false.
   */
  readonly relayOutbox?: boolean;
  /** Relay failures; the relay keeps retrying. */
  readonly onRelayError?: (error: unknown) => void;
  /**
   * Whose store to open when LEASH_STORE_DIR gives each service its own: the
   * service (or `audit`); the CLI passes the service that owns what a command reads.
   */
  readonly owner?: string;
  /**
   * A process that runs for a moment (a CLI command): the embedded engines start no
   * WAL checkpointer thread (starting and stopping one costs more than the command's
   * own work); SQLite's automatic checkpoint covers its few writes.
   */
  readonly shortLived?: boolean;
}

/** An engine the config asks for that this build cannot provide. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
}

/**
 * The composition root: builds the Bus and the Store the config names. Both
 * choices are checked before anything is opened, so a refusal leaves no
 * file or connection behind.
 */
export async function openEngines(
  config: EnginesConfig,
  options: OpenEnginesOptions,
): Promise<Engines> {
  const mongo = !options.memoryStore && config.LEASH_STORE === 'mongo';
  const storeFile =
    options.memoryStore || mongo ? undefined : fileIn(storeFileOf(config, options.owner));
  const { bus, where } = await openBus(config, options.source, options);
  let store: Store;
  let storeWhere: string;
  try {
    if (mongo) {
      const opened = await openMongo(config, options.owner);
      store = opened.store;
      storeWhere = opened.where;
    } else {
      store =
        storeFile === undefined
          ? await openMemoryStore()
          : await openSqliteStore({
              filename: storeFile,
              ...(options.shortLived ? { checkpointIntervalMs: 0 } : {}),
            });
      storeWhere = storeFile === undefined ? store.system : `${store.system} ${storeFile}`;
    }
  } catch (error) {
    await bus.close();
    throw error;
  }

  // One relay per process and store; a lease keeps processes sharing a store from
  // publishing the same entries twice. A short lease lets a restarted process take
  // over quickly from one that crashed. This process's commits wake the relay; the
  // poll, every 250 ms while there is work and at most every 2 s when all is quiet,
  // is for entries other processes sharing the store commit.
  const relay =
    options.relayOutbox === false
      ? undefined
      : new OutboxRelay({
          outbox: store.outbox,
          bus,
          leaseTtlMs: 3_000,
          pollIntervalMs: 250,
          idlePollIntervalMs: 2_000,
          onError: options.onRelayError,
        });
  relay?.start();

  let closing: Promise<void> | undefined;
  return {
    bus,
    store,
    location: {
      bus: `${bus.system} ${where}`,
      store: storeWhere,
    },
    close() {
      // The relay first (what it has not sent stays in the outbox for the next
      // start), then the bus, whose handlers may still be writing to the store.
      closing ??= (relay ? relay.stop() : Promise.resolve())
        .then(() => bus.close())
        .finally(() => store.close());
      return closing;
    },
  };
}

/**
 * The bus alone, with no store: for a process that only talks on the bus, such
 * as `leash topics provision`. The caller closes it.
 */
export async function openBus(
  config: EnginesConfig,
  source: string,
  options: Pick<OpenEnginesOptions, 'shortLived'> = {},
): Promise<{ bus: Bus; where: string }> {
  const { transport, where } = await openTransport(config, options.shortLived ?? false);
  const bus = createBus({
    transport,
    source,
    topicPrefix: config.LEASH_TOPIC_PREFIX,
    partitions: config.LEASH_PARTITIONS,
  });
  return { bus, where };
}

/**
 * A store alone, with no bus and no outbox relay: for a process that reads
 * (or seeds) another service's state beside a bus it already has, such as
 * the distributed launcher's demo. The caller closes it.
 */
export async function openStore(config: StoreConfig, owner?: string): Promise<Store> {
  if (config.LEASH_STORE === 'mongo') return (await openMongo(config, owner)).store;
  return openSqliteStore({ filename: fileIn(storeFileOf(config, owner)) });
}

/**
 * The MongoDB database of `owner`: MONGO_URL's own, or with
 * MONGO_DATABASE_PER_SERVICE `<database>_<owner>` (the database named in the
 * URL, `leash` when it names none). Never the credentials, in `where`.
 */
export function mongoDatabaseOf(
  config: Pick<EnginesConfig, 'MONGO_URL' | 'MONGO_DATABASE_PER_SERVICE'>,
  owner?: string,
): { readonly url: string; readonly where: string } {
  if (!config.MONGO_URL) {
    throw new EngineUnavailableError('LEASH_STORE=mongo needs MONGO_URL');
  }
  // Not WHATWG URL: a MongoDB URL may list several hosts (`db-0:27017,db-1:27017`).
  const parts = /^(mongodb(?:\+srv)?:\/\/)(?:([^@/?]*)@)?([^/?]+)(?:\/([^?]*))?(\?.*)?$/.exec(
    config.MONGO_URL,
  );
  if (!parts) throw new EngineUnavailableError('MONGO_URL is not a mongodb:// URL');
  const [, scheme, credentials, hosts, path, query] = parts;
  const base = decodeURIComponent(path ?? '') || 'leash';
  let database = base;
  if (config.MONGO_DATABASE_PER_SERVICE) {
    if (owner === undefined) {
      throw new EngineUnavailableError(
        'MONGO_DATABASE_PER_SERVICE gives each service a database of its own; this process runs on one store: unset it',
      );
    }
    database = `${base}_${owner}`;
  }
  const url = `${scheme}${credentials !== undefined ? `${credentials}@` : ''}${hosts}/${encodeURIComponent(database)}${query ?? ''}`;
  return { url, where: `${hosts}/${database}` };
}

/** The MongoDB store, loaded only when asked for, so the embedded default never loads mongoose. */
async function openMongo(
  config: StoreConfig,
  owner?: string,
): Promise<{ readonly store: Store; readonly where: string }> {
  const { url, where } = mongoDatabaseOf(config, owner);
  const { openMongoStore } = await import('@leash/store-mongo');
  const store = await openMongoStore({
    url,
    poolSize: config.MONGO_POOL_SIZE,
    timeoutMs: config.MONGO_TIMEOUT_MS,
  });
  return { store, where: `mongodb ${where}` };
}

/**
 * The store file of `owner`: `<LEASH_STORE_DIR>/<owner>.db` when the config
 * gives each service its own, else LEASH_STORE_FILE. A store directory
 * without an owner is refused: which service's state would it be?
 */
export function storeFileOf(
  config: Pick<EnginesConfig, 'LEASH_STORE_FILE' | 'LEASH_STORE_DIR'>,
  owner?: string,
): string {
  if (config.LEASH_STORE_DIR === undefined) return config.LEASH_STORE_FILE;
  if (owner === undefined) {
    throw new EngineUnavailableError(
      'LEASH_STORE_DIR gives each service a store of its own; this process runs on one store: set LEASH_STORE_FILE instead',
    );
  }
  return join(config.LEASH_STORE_DIR, `${owner}.db`);
}

/**
 * The bus transport the config names. Kafka's adapter is loaded only when asked for,
 * so the embedded default never loads kafkajs.
 */
async function openTransport(
  config: EnginesConfig,
  shortLived: boolean,
): Promise<{ transport: BusTransport; where: string }> {
  if (config.LEASH_BUS === 'kafka') {
    const brokers = config.KAFKA_BROKERS ?? [];
    const { KafkaTransport } = await import('@leash/bus-kafka');
    const sasl =
      config.KAFKA_SASL_MECHANISM === 'scram-sha-512'
        ? {
            mechanism: 'scram-sha-512' as const,
            username: config.KAFKA_SASL_USERNAME ?? '',
            password: config.KAFKA_SASL_PASSWORD ?? '',
          }
        : config.KAFKA_SASL_MECHANISM === 'oauthbearer'
          ? {
              mechanism: 'oauthbearer' as const,
              tokenFile: config.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE ?? '',
            }
          : undefined;
    const transport = new KafkaTransport({
      brokers,
      clientId: config.KAFKA_CLIENT_ID,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
      // Consumer groups carry the topic prefix: deployments sharing a cluster share no group.
      groupPrefix: config.LEASH_TOPIC_PREFIX,
      ssl: config.KAFKA_SSL,
      ...(config.KAFKA_SSL_CA_FILE !== undefined ? { sslCaFile: config.KAFKA_SSL_CA_FILE } : {}),
      ...(sasl ? { sasl } : {}),
    });
    return { transport, where: brokers.join(',') };
  }
  const busFile = fileIn(config.LEASH_BUS_FILE);
  const transport = new SqliteTransport({
    filename: busFile,
    defaultPartitions: config.LEASH_PARTITIONS,
    ...(shortLived ? { checkpointIntervalMs: 0 } : {}),
  });
  return { transport, where: busFile };
}

/** The absolute path of an engine file, its directory created so a fresh checkout just starts. */
function fileIn(file: string): string {
  if (file === ':memory:') return file;
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

/**
 * Logs what the outbox relay could not publish, at most once per interval
 * per message (a bus away for a minute is one line, not hundreds): a relay
 * that cannot publish holds back every event of its process, and must say so.
 */
export function relayErrorLogger(
  log: (line: string) => void,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (error: unknown) => void {
  const last = new Map<string, number>();
  return (error) => {
    const message = error instanceof Error ? error.message : String(error);
    const at = now();
    if ((last.get(message) ?? -Infinity) > at - intervalMs) return;
    last.set(message, at);
    if (last.size > 100) last.delete(last.keys().next().value!);
    log(`the outbox relay could not publish (it retries): ${message}`);
  };
}
