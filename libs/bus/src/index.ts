export * from './bus.port';
export * from './errors';
