export * from './bus.port';
export * from './errors';
export * from './bus';
export * from './retry';
export * from './dead-letter';
export * from './partitioner';
export * from './in-memory.transport';
export * from './batches';
