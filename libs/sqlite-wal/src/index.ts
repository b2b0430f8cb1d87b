export * from './wal-checkpointer';
export * from './census';
export * from './file-channel';
