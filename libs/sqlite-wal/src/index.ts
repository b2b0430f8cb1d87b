export * from './wal-checkpointer';
