export * from './errors';
export * from './aggregate';
export * from './query';
export * from './store.port';
export * from './outbox';
export * from './outbox-relay';
export * from './conflict-retry';
export * from './written-documents';
