export * from './verdict';
export * from './approval-consumer';
export * from './leash-client';
