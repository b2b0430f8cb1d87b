// The composition root: opens the Bus and the Store the config names. What a client (the
// CLI, a test, a launcher) opens; a service process's runtime on NestJS (its modules,
// start-up and shutdown, health and metrics server) is @leash/service-runtime.
export * from './open-engines';
export * from './store-batches';
// The count of SQL the embedded engines run, for benchmarks and the spec that keeps it down.
export { startSqliteCensus, type SqliteCensus, type SqliteCensusCounts } from '@leash/sqlite-wal';
