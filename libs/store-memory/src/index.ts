export * from './memory.store';
