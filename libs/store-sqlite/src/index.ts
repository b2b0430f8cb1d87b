export * from './sqlite.store';
