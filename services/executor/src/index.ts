export { bootstrapExecutor } from './executor.app';
export type { ExecutorOverrides } from './app.module';
export { EXECUTOR, EXECUTOR_ENV, type ExecutorConfig } from './config';
export * from './execution';
export * from './tools';
