import { BASE_ENV } from './base.env';
import { ConfigError, describeEnv, loadConfig, redact } from './env-spec';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(BASE_ENV, { env, subject: 'policy' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('BASE_ENV', () => {
  it('defaults to the embedded engines with no environment at all', () => {
    const config = loadConfig(BASE_ENV, { env: {} });
    expect(config).toMatchObject({
      LEASH_BUS: 'embedded',
      LEASH_BUS_FILE: '.leash/bus.db',
      LEASH_STORE: 'sqlite',
      LEASH_STORE_FILE: '.leash/store.db',
      LEASH_TOPIC_PREFIX: 'leash.',
      LEASH_PARTITIONS: 8,
      LOG_LEVEL: 'info',
    });
    expect(config.KAFKA_BROKERS).toBeUndefined();
    expect(config.LEASH_HTTP_PORT).toBeUndefined();
    expect(config.LEASH_INSTANCE_ID).toMatch(/-\d+$/);
  });

  it('parses numbers, lists and URLs into what the code uses', () => {
    const config = loadConfig(BASE_ENV, {
      env: {
        LEASH_BUS: 'kafka',
        KAFKA_BROKERS: 'k1:9092, k2:9092,',
        LEASH_STORE: 'mongo',
        MONGO_URL: 'mongodb://user:pw@db:27017/leash',
        LEASH_PARTITIONS: '16',
        LEASH_HTTP_PORT: '8080',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      },
    });
    expect(config.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9092']);
    expect(config.LEASH_PARTITIONS).toBe(16);
    expect(config.LEASH_HTTP_PORT).toBe(8080);
  });

  it('reads the Kafka connection: client id, replication, TLS and SASL', () => {
    const config = loadConfig(BASE_ENV, {
      env: {
        LEASH_BUS: 'kafka',
        KAFKA_BROKERS: 'k1:9093',
        KAFKA_CLIENT_ID: 'policy',
        KAFKA_REPLICATION_FACTOR: '3',
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'policy',
        KAFKA_SASL_PASSWORD: 'pw',
      },
    });
    expect(config).toMatchObject({
      KAFKA_CLIENT_ID: 'policy',
      KAFKA_REPLICATION_FACTOR: 3,
      KAFKA_SSL: true,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
    });
    expect(loadConfig(BASE_ENV, { env: {} })).toMatchObject({
      KAFKA_CLIENT_ID: 'leash',
      KAFKA_REPLICATION_FACTOR: -1,
      KAFKA_SSL: false,
      KAFKA_SASL_MECHANISM: 'none',
    });
  });

  it('fails fast on an incomplete Kafka SASL setup, naming each variable', () => {
    const message = problemsOf({
      LEASH_BUS: 'kafka',
      KAFKA_BROKERS: 'k1:9093',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_REPLICATION_FACTOR: '0',
    });
    expect(message).toContain(
      'KAFKA_SASL_USERNAME is required when KAFKA_SASL_MECHANISM=scram-sha-512',
    );
    expect(message).toContain(
      'KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM=scram-sha-512',
    );
    expect(message).toContain('KAFKA_REPLICATION_FACTOR is "0"');
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'oauthbearer' })).toContain(
      'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is required when KAFKA_SASL_MECHANISM=oauthbearer',
    );
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig(BASE_ENV, { env: { LEASH_BUS: 'kafka', KAFKA_BROKERS: 'k:1' } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.KAFKA_BROKERS)).toBe(true);
    expect(() => (config.KAFKA_BROKERS as string[]).push('x')).toThrow(TypeError);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig(BASE_ENV, { env: { LEASH_PARTITIONS: '  ' } }).LEASH_PARTITIONS).toBe(8);
  });

  it('names each bad variable with what was expected, all at once', () => {
    const message = problemsOf({
      LEASH_BUS: 'rabbit',
      LEASH_PARTITIONS: 'eight',
      LEASH_HTTP_PORT: '70000',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      LOG_LEVEL: 'loud',
    });
    expect(message).toBe(
      [
        'Invalid configuration of policy (5 problems):',
        '  - LEASH_BUS is "rabbit": expected embedded or kafka',
        '  - LEASH_PARTITIONS is "eight": expected a whole number from 1 to 1024',
        '  - LOG_LEVEL is "loud": expected fatal, error, warn, info, debug, verbose',
        '  - OTEL_EXPORTER_OTLP_ENDPOINT is "collector:4318": expected an http:// or https:// URL',
        '  - LEASH_HTTP_PORT is "70000": expected a port number from 0 to 65535',
        'Fix the environment and start again.',
      ].join('\n'),
    );
  });

  it('requires the Kafka brokers and the MongoDB URL only when those engines are chosen', () => {
    const message = problemsOf({ LEASH_BUS: 'kafka', LEASH_STORE: 'mongo' });
    expect(message).toContain(
      'KAFKA_BROKERS is required when LEASH_BUS=kafka: expected a comma-separated list of host:port',
    );
    expect(message).toContain(
      'MONGO_URL is required when LEASH_STORE=mongo: expected a mongodb:// or mongodb+srv:// URL',
    );
  });

  it('reports a bad broker list and a bad partition count together', () => {
    const message = problemsOf({ LEASH_BUS: 'kafka', KAFKA_BROKERS: 'k1', LEASH_PARTITIONS: '0' });
    expect(message).toContain('(2 problems)');
    expect(message).toContain(
      'KAFKA_BROKERS is "k1": expected a comma-separated list of host:port',
    );
    expect(message).toContain('LEASH_PARTITIONS is "0": expected a whole number from 1 to 1024');
  });

  it('never prints a secret, even a malformed one', () => {
    const secret = 'postgres://admin:hunter2@db';
    const message = problemsOf({ LEASH_STORE: 'mongo', MONGO_URL: secret });
    expect(message).toContain('MONGO_URL (secret value hidden): expected a mongodb://');
    expect(message).not.toContain('hunter2');
  });

  it('redacts secrets for logging', () => {
    const config = loadConfig(BASE_ENV, {
      env: { LEASH_STORE: 'mongo', MONGO_URL: 'mongodb://u:hunter2@db/leash' },
    });
    expect(JSON.stringify(redact(BASE_ENV, config))).not.toContain('hunter2');
    expect(redact(BASE_ENV, config).MONGO_URL).toBe('[secret]');
  });

  it('documents every variable', () => {
    const docs = describeEnv(BASE_ENV);
    expect(docs.map((d) => d.name)).toContain('LEASH_BUS');
    for (const doc of docs) {
      expect(doc.description.length).toBeGreaterThan(10);
      expect(doc.expected.length).toBeGreaterThan(3);
    }
    expect(docs.find((d) => d.name === 'MONGO_URL')).toMatchObject({
      secret: true,
      required: 'when LEASH_STORE=mongo',
    });
    expect(docs.find((d) => d.name === 'LEASH_PARTITIONS')).toMatchObject({ default: '8' });
    expect(docs.find((d) => d.name === 'LEASH_INSTANCE_ID')).toMatchObject({
      default: '<hostname>-<pid>',
    });
  });
});
