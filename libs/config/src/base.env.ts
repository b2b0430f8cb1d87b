import { hostname } from 'node:os';
import { z } from 'zod';
import { defineEnv, type ConfigOf } from './env-spec';
import { TRACING_ENV } from './tracing.env';
import { integer, list, url, variable } from './variables';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** The variables every service reads: which engines to use and where they are. */
export const BASE_ENV = defineEnv(
  {
    LEASH_BUS: variable(z.enum(['embedded', 'kafka']).default('embedded'), {
      description: 'The bus engine: the embedded SQLite log (one machine) or Kafka.',
      expected: 'embedded or kafka',
    }),
    LEASH_BUS_FILE: variable(z.string().trim().min(1).default('.leash/bus.db'), {
      description: 'The SQLite file of the embedded bus; its directory is created if missing.',
      expected: 'a file path',
    }),
    KAFKA_BROKERS: variable(list(/^[^\s:,]+:\d{1,5}$/).optional(), {
      description: 'Kafka bootstrap brokers, used when LEASH_BUS=kafka.',
      expected: 'a comma-separated list of host:port',
    }),
    KAFKA_CLIENT_ID: variable(
      z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,100}$/)
        .default('leash'),
      {
        description: 'The Kafka client id: names this process in broker logs, quotas and ACLs.',
        expected: 'up to 100 of A-Z a-z 0-9 . _ -',
      },
    ),
    KAFKA_REPLICATION_FACTOR: variable(
      integer(-1, 32)
        .refine((factor) => factor !== 0)
        .default(-1),
      {
        description:
          "Replication factor of the topics Leash creates on Kafka; -1 takes the broker's default.replication.factor.",
        expected: 'a whole number from 1 to 32, or -1',
      },
    ),
    KAFKA_SESSION_TIMEOUT_MS: variable(integer(6_000, 300_000).default(30_000), {
      description:
        "How long a consumer group waits for a silent member before moving its partitions: a process that died is noticed after it. Within the broker's group.min/max.session.timeout.ms.",
      expected: 'milliseconds from 6000 to 300000',
    }),
    KAFKA_SSL: variable(
      z
        .enum(['true', 'false'])
        .default('false')
        .transform((v) => v === 'true'),
      {
        description: 'Connect to Kafka over TLS.',
        expected: 'true or false',
      },
    ),
    KAFKA_SSL_CA_FILE: variable(z.string().trim().min(1).optional(), {
      description:
        "A PEM file of the CA that signed the brokers' certificates, when not a public CA; implies KAFKA_SSL=true.",
      expected: 'a file path',
    }),
    KAFKA_SASL_MECHANISM: variable(
      z.enum(['none', 'scram-sha-512', 'oauthbearer']).default('none'),
      {
        description: 'How Leash authenticates to Kafka.',
        expected: 'none, scram-sha-512 or oauthbearer',
      },
    ),
    KAFKA_SASL_USERNAME: variable(z.string().min(1).optional(), {
      description: 'The SCRAM user, when KAFKA_SASL_MECHANISM=scram-sha-512.',
      expected: 'a user name',
    }),
    KAFKA_SASL_PASSWORD: variable(z.string().min(1).optional(), {
      description: 'The SCRAM password, when KAFKA_SASL_MECHANISM=scram-sha-512.',
      expected: 'a password',
      secret: true,
    }),
    KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: variable(z.string().trim().min(1).optional(), {
      description:
        'A file holding the OAuth bearer token, when KAFKA_SASL_MECHANISM=oauthbearer; read again at each re-authentication, so a sidecar can rotate it.',
      expected: 'a file path',
    }),
    LEASH_BATCH_EVENTS: variable(integer(1, 1_024).default(64), {
      description:
        "Policy, budget and approvals handle a partition's ready events in batches of up to this many, in store transactions of up to 10 ms of handling each, one commit apiece (on SQLite; MongoDB takes them one at a time). 1: every event in a transaction of its own.",
      expected: 'a whole number from 1 to 1024',
    }),
    LEASH_STORE: variable(z.enum(['sqlite', 'mongo']).default('sqlite'), {
      description: 'The store engine: SQLite (one machine) or MongoDB.',
      expected: 'sqlite or mongo',
    }),
    LEASH_STORE_FILE: variable(z.string().trim().min(1).default('.leash/store.db'), {
      description: 'The SQLite file of the store; its directory is created if missing.',
      expected: 'a file path',
    }),
    LEASH_STORE_DIR: variable(z.string().trim().min(1).optional(), {
      description:
        "A directory of SQLite stores, one per service (<service>.db), in place of LEASH_STORE_FILE: how each service on one machine owns its state. The CLI reads each command's service's store there.",
      expected: 'a directory path',
    }),
    MONGO_URL: variable(url(['mongodb', 'mongodb+srv']).optional(), {
      description: 'MongoDB connection string, used when LEASH_STORE=mongo. Carries credentials.',
      expected: 'a mongodb:// or mongodb+srv:// URL',
      secret: true,
    }),
    MONGO_DATABASE_PER_SERVICE: variable(
      z
        .enum(['true', 'false'])
        .default('false')
        .transform((v) => v === 'true'),
      {
        description:
          "With LEASH_STORE=mongo: give each service a database of its own (<database>_<service>, from MONGO_URL's database), as LEASH_STORE_DIR does for SQLite; false: every process shares MONGO_URL's database, as one LEASH_STORE_FILE does.",
        expected: 'true or false',
      },
    ),
    MONGO_POOL_SIZE: variable(integer(1, 1_000).default(10), {
      description: 'Connections to MongoDB per process (the driver pool).',
      expected: 'a whole number from 1 to 1000',
    }),
    MONGO_TIMEOUT_MS: variable(integer(500, 300_000).default(10_000), {
      description:
        'How long to wait for a MongoDB server to be selected or to connect (socket reads wait three times as long). TLS and credentials ride on MONGO_URL (?tls=true&tlsCAFile=...).',
      expected: 'milliseconds from 500 to 300000',
    }),
    LEASH_TOPIC_PREFIX: variable(
      z
        .string()
        .regex(/^[A-Za-z0-9._-]{0,100}$/)
        .default('leash.'),
      {
        description: 'Put before every topic name, so several deployments can share one cluster.',
        expected: 'up to 100 of A-Z a-z 0-9 . _ -',
      },
    ),
    LEASH_PARTITIONS: variable(integer(1, 1024).default(8), {
      description: 'Partitions per topic when Leash creates a topic; bounds parallelism per group.',
      expected: 'a whole number from 1 to 1024',
    }),
    LEASH_INSTANCE_ID: variable(
      z
        .string()
        .trim()
        .min(1)
        .max(200)
        .default(() => `${hostname()}-${process.pid}`),
      {
        description: 'Names this process in acknowledgements and logs.',
        expected: 'a non-empty name of up to 200 characters',
        defaultText: '<hostname>-<pid>',
      },
    ),
    LOG_LEVEL: variable(z.enum(LOG_LEVELS).default('info'), {
      description: 'The least severe log level printed.',
      expected: LOG_LEVELS.join(', '),
    }),
    OTEL_EXPORTER_OTLP_ENDPOINT: variable(url(['http', 'https']).optional(), {
      description: 'OTLP over HTTP endpoint for traces; traces are not exported when unset.',
      expected: 'an http:// or https:// URL',
    }),
    ...TRACING_ENV.variables,
    LEASH_HTTP_PORT: variable(integer(0, 65535).optional(), {
      description:
        'Port of the HTTP endpoints (health, API) where a service has them; 0 picks one.',
      expected: 'a port number from 0 to 65535',
    }),
  },
  [
    { variable: 'KAFKA_BROKERS', when: { variable: 'LEASH_BUS', equals: 'kafka' } },
    {
      variable: 'KAFKA_SASL_USERNAME',
      when: { variable: 'KAFKA_SASL_MECHANISM', equals: 'scram-sha-512' },
    },
    {
      variable: 'KAFKA_SASL_PASSWORD',
      when: { variable: 'KAFKA_SASL_MECHANISM', equals: 'scram-sha-512' },
    },
    {
      variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
      when: { variable: 'KAFKA_SASL_MECHANISM', equals: 'oauthbearer' },
    },
    { variable: 'MONGO_URL', when: { variable: 'LEASH_STORE', equals: 'mongo' } },
  ],
);

export type BaseConfig = ConfigOf<typeof BASE_ENV>;
