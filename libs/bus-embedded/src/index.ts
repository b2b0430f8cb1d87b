export { SqliteTransport } from './sqlite.transport';
export type { SqliteRetentionOptions, SqliteTransportOptions } from './sqlite.transport';
