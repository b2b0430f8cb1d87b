import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { KafkaConfig, SASLOptions } from 'kafkajs';

/** How to reach a cluster: what libs/config parses from KAFKA_* into kafkajs's connection options. */
export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl?: boolean;
  /** PEM file of the CA that signed the brokers' certificates; implies TLS. */
  readonly sslCaFile?: string;
  readonly sasl?:
    | { readonly mechanism: 'scram-sha-512'; readonly username: string; readonly password: string }
    /** The token is read from the file at each (re-)authentication, so it can be rotated. */
    | { readonly mechanism: 'oauthbearer'; readonly tokenFile: string };
}

export function kafkaClientConfig(connection: KafkaConnection): KafkaConfig {
  const ca = connection.sslCaFile ? readFileSync(connection.sslCaFile, 'utf8') : undefined;
  const ssl = ca !== undefined ? { ca: [ca] } : connection.ssl === true ? true : undefined;
  return {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    ...(ssl !== undefined ? { ssl } : {}),
    ...(connection.sasl ? { sasl: saslOptions(connection.sasl) } : {}),
  };
}

function saslOptions(sasl: NonNullable<KafkaConnection['sasl']>): SASLOptions {
  if (sasl.mechanism === 'scram-sha-512') {
    return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
  const { tokenFile } = sasl;
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => ({ value: (await readFile(tokenFile, 'utf8')).trim() }),
  };
}
