export * from './wal-checkpointer';
export * from './census';
