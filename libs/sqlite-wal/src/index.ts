export * from './wal-checkpointer';
export * from './file-channel';
